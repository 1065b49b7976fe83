"""The progressive-growing schedule, the real images D sees while growing, and resuming mid-fade."""
import json

import pytest
import torch
import torch.nn.functional as F

from ganforge.checks import check_config
from ganforge.config import GrowthConfig, make_config
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.engine.growth import Schedule, blend_real
from ganforge.engine.loop import resume_config, train
from ganforge.errors import ConfigError

from .test_resume import assert_same_state


def test_schedule_stabilises_then_fades_in_each_resolution():
    schedule = Schedule(stable=[100, 200, 50], fade=[40, 80], batch_sizes=[8, 8, 4])
    assert schedule.at(0) == (0, 1.0) and schedule.at(99) == (0, 1.0)
    assert schedule.at(100) == (1, 0.0) and schedule.at(110) == (1, 0.25) and schedule.at(140) == (1, 1.0)
    assert schedule.at(339) == (1, 1.0) and schedule.at(340) == (2, 0.0) and schedule.at(400) == (2, 0.75)
    assert schedule.at(10 ** 9) == (2, 1.0)  # the last resolution trains until the end


def test_single_values_apply_to_every_resolution_and_fades_default_to_stable():
    schedule = Schedule.from_config(GrowthConfig(stable_images=[500], batch_sizes=[64, 32, 16]), 3, 99)
    assert schedule == Schedule([500, 500, 500], [500, 500], [64, 32, 16])
    assert Schedule.from_config(GrowthConfig(stable_images=[5]), 2, 99).batch_sizes == [99, 99]


def test_real_images_are_downscaled_and_blended_like_the_generator():
    x = torch.randn(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    stages = 3  # 4, 8, 16
    at_8 = blend_real(x, 1, 1.0, stages)
    assert torch.allclose(at_8, F.interpolate(F.avg_pool2d(x, 2), scale_factor=2))
    # alpha = 0 at 8x8 is the 4x4 version; alpha in between blends linearly
    assert torch.allclose(blend_real(x, 1, 0.0, stages), F.interpolate(F.avg_pool2d(x, 4), scale_factor=4),
                          atol=1e-6)  # pooling twice by 2 against once by 4: rounding only
    assert torch.allclose(blend_real(x, 1, 0.3, stages),
                          0.7 * blend_real(x, 1, 0.0, stages) + 0.3 * at_8, atol=1e-6)
    assert torch.equal(blend_real(x, 2, 1.0, stages), x)


def growing(npz, out, steps):
    return [f"out_dir={out}", "data.name=npz", f"data.root={npz}", "data.resolution=16", "model.name=pggan",
            "model.z_dim=8", "model.g_channels=8", "model.d_channels=8", f"train.steps={steps}",
            "train.batch_size=8", "train.log_every=2", "train.sample_every=1000", "train.ckpt_every=1000",
            "train.progress=false", "train.tensorboard=false", "train.ema_decay=0.9", "loss.name=wasserstein",
            "reg.gp=10", "reg.drift=0.001", "growth.stable_images=32", "growth.fade_images=48",
            "growth.batch_sizes=[16,8,4]", "optim.g.beta1=0", "optim.d.beta1=0"]


def test_growing_run_records_its_growth_and_a_picture_per_stage(tiny_images, tmp_path):
    # 4x4: 2 steps of 16; fade to 8x8 over 6 steps of 8, stable 4; fade to 16x16 over 12 steps of 4, ...
    train(make_config({}, growing(tiny_images, tmp_path, steps=26)), run_dir=tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    # each record gives the schedule's position after its step: after step 2 the fade to 8x8 begins
    assert (records[0]["step"], records[0]["growth/resolution"], records[0]["growth/alpha"]) == (2, 8, 0.0)
    assert records[-1]["growth/resolution"] == 16
    assert sorted(p.name for p in (tmp_path / "run" / "samples").glob("stage_*")) == [
        "stage_16x16.png", "stage_4x4.png", "stage_8x8.png"]
    assert (tmp_path / "run" / "growth.png").is_file()
    payload = load_checkpoint(tmp_path / "run")
    assert payload["images_seen"] == 2 * 16 + 10 * 8 + 14 * 4
    assert payload["generator"]["growth.stage"].item() == 2
    assert payload["generator_ema"]["growth.stage"].item() == 2


def test_resumed_mid_fade_continues_exactly(tiny_images, tmp_path):
    straight = train(make_config({}, growing(tiny_images, tmp_path, steps=12)), run_dir=tmp_path / "a")
    first = train(make_config({}, growing(tiny_images, tmp_path, steps=5)), run_dir=tmp_path / "b")
    stopped = load_checkpoint(first.checkpoint)
    assert stopped["discriminator"]["body.growth.stage"].item() == 1  # stopped during the fade to 8x8
    assert 0 < stopped["discriminator"]["body.growth.alpha"].item() < 1
    resumed = train(resume_config(tmp_path / "b", ["train.steps=12"]), resume=tmp_path / "b")
    a, b = load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint)
    assert_same_state(a, b)
    assert a["images_seen"] == b["images_seen"]


@pytest.mark.parametrize("overrides, message", [
    (["growth.stable_images=100"], "needs a growing model: model.name=pggan"),
    (["model.name=pggan", "growth.batch_sizes=[8]"], "need growth.stable_images"),
    (["model.name=pggan", "growth.stable_images=[1,2]"], "needs 1 or 4 values for data.resolution=32"),
    (["model.name=pggan", "growth.stable_images=[0]"], "must hold positive numbers"),
    (["model.name=pggan", "growth.stable_images=lots"], "growth.stable_images' must be int")])
def test_bad_growth_settings_are_rejected(overrides, message):
    with pytest.raises(ConfigError, match=message):
        check_config(make_config({}, overrides))


@pytest.mark.parametrize("preset", ["pggan_folder", "pggan_celeba128"])
def test_gpu_presets_build_at_128_and_train_through_a_transition(preset, tmp_path):
    """The GPU presets are too large to train here; their full networks must still build and take steps."""
    import numpy as np
    from PIL import Image

    from ganforge.cli import preset_path
    from ganforge.config import load_config
    from ganforge.data import build_dataset
    from ganforge.engine.training import Training

    rng = np.random.default_rng(0)
    for index in range(16):  # one batch
        Image.fromarray(rng.integers(0, 256, size=(150, 130, 3), dtype=np.uint8)).save(tmp_path / f"{index}.png")
    config = load_config(preset_path(preset), [f"data.root={tmp_path}", "train.device=cpu",
                                              "growth.stable_images=16"])
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    seen = []
    for _ in range(3):
        seen.append(training.growth)
        training.train_step()
    assert seen == [(0, 1.0), (1, 0.0), (1, 1.0)]  # 4x4, then the 8x8 fade from its start to its end
    assert training.samples().shape[1:] == (3, 128, 128)


def test_the_shown_generator_grows_with_the_trained_one(tiny_images, tmp_path):
    """The EMA copy, which draws the pictures, runs the stage and fade its copied buffers say."""
    import copy

    from ganforge.data import build_dataset
    from ganforge.engine.training import Training

    config = make_config({}, growing(tiny_images, tmp_path, steps=26))
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    for _ in range(5):  # into the fade to 8x8
        training.train_step()
    shadow = training.ema.shadow
    reloaded = copy.deepcopy(shadow)
    reloaded.set_growth(0, 1.0)  # a stale stage, which loading the buffers must replace
    reloaded.load_state_dict(shadow.state_dict())
    assert (shadow.growth.active, shadow.growth.fading) == (1, True)
    assert (reloaded.growth.active, reloaded.growth.fading) == (1, True)
    assert torch.equal(training.samples(), reloaded(training.fixed_z, training.fixed_y))
