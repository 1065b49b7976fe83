"""The `schedule` ramps inside training: what each step's optimisers, penalties, EMA and augmentation get (against
the formulas written out here), that the hook changes nothing else, and that a scheduled run resumes exactly."""
import math

import pytest
import torch

from ganforge.config import make_config
from ganforge.data import build_dataset
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.engine.loop import resume_config, train
from ganforge.engine.stats import read_log
from ganforge.engine.training import Training
from ganforge.errors import CheckpointError

from ..runs import image_overrides, toy_overrides
from ..test_cli import assert_one_line_error, run_cli
from .test_resume import assert_same_state

HORIZON = 200
BASE = ["model.d_norm=none", "reg.r1=0.05", "reg.r2=0.05", "data.augment=translation", "data.augment_p=0",
        "optim.g.beta1=0", "optim.d.beta1=0", "optim.g.beta2=0.9", "optim.d.beta2=0.9"]
RAMPS = [f"schedule.images={HORIZON}", "schedule.lr_end=5e-5", "schedule.beta2_end=0.99",
         "schedule.gamma_end=0.005", "schedule.ema_half_life=64", "schedule.augment_p_end=0.6"]


def config_for(tiny_images, tmp_path, steps, *extra):
    """tests/runs.py's tiny DCGAN without its fixed EMA (the schedule keeps one by half-life)."""
    overrides = [o for o in image_overrides(tiny_images, tmp_path, steps) if not o.startswith("train.ema_decay")]
    return make_config({}, [*overrides, *BASE, *extra])


def moved(images: int) -> float:
    """How far a cosine ramp over HORIZON images has gone: (1 - cos(pi t / T)) / 2, held at 1 after T."""
    return (1 - math.cos(math.pi * min(images / HORIZON, 1.0))) / 2


def test_each_step_gets_the_formulas_values(tiny_images, tmp_path):
    """n_dis=2: the clock counts both D rounds' real batches (32 images a step), so the ramps end after
    step 7 and then hold. The EMA shadow is followed by hand with each step's decay."""
    config = config_for(tiny_images, tmp_path, 10, *RAMPS, "train.n_dis=2")
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    shadow = [p.detach().clone() for p in training.G.parameters()]
    augment_draws = training.augment.generator.get_state()
    for step in range(9):
        images = training.images_seen
        assert images == 32 * step
        training.train_step()
        w = moved(images)
        for opt in (training.opt_g, training.opt_d):
            (group,) = opt.param_groups
            assert group["lr"] == pytest.approx(2e-4 + (5e-5 - 2e-4) * w, rel=1e-12, abs=0)
            assert group["betas"] == (0.0, pytest.approx(0.9 + (0.99 - 0.9) * w, rel=1e-12, abs=0))
        assert training.objective.reg.r1 == training.objective.reg.r2 == pytest.approx(0.05 - 0.045 * w, rel=1e-12)
        assert training.config.reg.r1 == 0.05  # the run's config itself is not changed
        beta = 0.5 ** (32 / max(64 * w, 1e-8))
        assert training.ema.decay == pytest.approx(beta, rel=1e-12, abs=0)
        shadow = [beta * s + (1 - beta) * p.detach() for s, p in zip(shadow, training.G.parameters())]
        for mine, theirs in zip(shadow, training.ema.shadow.parameters()):
            torch.testing.assert_close(theirs, mine, rtol=1e-5, atol=1e-6)
        assert training.augment.p.item() == pytest.approx(0.6 * w, abs=1e-7)
        if step == 0:  # p = 0: no image is transformed, so nothing is drawn for it
            assert torch.equal(training.augment.generator.get_state(), augment_draws)
    assert w == 1.0  # the last steps ran at the end values
    assert training.ema.decay == pytest.approx(0.5 ** 0.5)


def test_ramps_that_end_where_they_start_change_nothing(tiny_images, tmp_path):
    """The hook sets only what the schedule ramps, to the values it names: a schedule whose ends equal its
    starts trains bit for bit as no schedule does, and a different end changes the run."""
    still = [f"schedule.images={HORIZON}", "schedule.lr_end=2e-4", "schedule.beta2_end=0.9",
             "schedule.gamma_end=0.05", "schedule.augment_p_end=0.5", "data.augment_p=0.5", "train.ema_decay=0.9"]
    runs = {}
    for name, extra in (("plain", ["data.augment_p=0.5", "train.ema_decay=0.9"]), ("still", still),
                        ("moving", [*still, "schedule.lr_end=1e-4"])):
        config = config_for(tiny_images, tmp_path, 6, *extra)
        training = Training(config, build_dataset(config.data), torch.device("cpu"))
        for _ in range(6):
            training.train_step()
        runs[name] = training.state_dict()
    for key in ("generator", "discriminator", "generator_ema"):
        for name, value in runs["plain"][key].items():
            assert torch.equal(value, runs["still"][key][name]), f"{key}.{name}"
    moving = runs["moving"]["generator"]
    assert any(not torch.equal(value, moving[name]) for name, value in runs["plain"]["generator"].items())


def test_default_config_installs_no_schedule_hook(tiny_images, tmp_path):
    config = config_for(tiny_images, tmp_path, 2)
    training = Training(config, build_dataset(config.data), torch.device("cpu"))
    assert config.schedule.images == 0 and training.ema is None
    assert training._follow_schedule not in training.before_step


def ramps(log: list[dict]) -> dict[int, dict]:
    """Each logged step's `schedule/` values."""
    return {r["step"]: {k: v for k, v in r.items() if k.startswith("schedule/")} for r in log}


def test_scheduled_run_resumed_mid_ramp_matches_and_logs_the_ramps(tiny_images, tmp_path):
    """Stopped at step 5 (80 of the 200 images), resumed to 16 (past the horizon): the same weights,
    optimiser state, EMA and logged values as a run that never stopped."""
    straight = train(config_for(tiny_images, tmp_path, 16, *RAMPS), run_dir=tmp_path / "a")
    with pytest.warns(UserWarning, match="ramps stop 34.5% of the way"):  # 80 of 200 images
        train(config_for(tiny_images, tmp_path, 5, *RAMPS), run_dir=tmp_path / "b")
    resumed = train(resume_config(tmp_path / "b", ["train.steps=16"]), resume=tmp_path / "b")
    a, b = load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint)
    assert_same_state(a, b)
    assert a["optim_g"]["param_groups"][0]["lr"] == b["optim_g"]["param_groups"][0]["lr"] == 5e-5
    log_a, log_b = read_log(tmp_path / "a" / "log.jsonl"), read_log(tmp_path / "b" / "log.jsonl")
    by_step_a, by_step_b = ramps(log_a), ramps(log_b)
    assert by_step_a.keys() == by_step_b.keys() - {5}  # the stopped run logged its last step too
    assert all(by_step_a[step] == by_step_b[step] for step in by_step_a)
    record = by_step_a[4]  # after step 4: the values set for step 5, at 64 images
    assert record["schedule/optim.d.lr"] == pytest.approx(2e-4 + (5e-5 - 2e-4) * moved(64), rel=1e-6)
    assert record["schedule/ema_half_life"] == pytest.approx(64 * moved(64), rel=1e-6)
    assert by_step_a[16]["schedule/reg.r1"] == pytest.approx(0.005, rel=1e-6)


def test_refusal_is_one_line_before_any_run_directory(tmp_path, capsys):
    args = ["train", "toy_ring", "--out", tmp_path / "run", *toy_overrides(tmp_path), "schedule.images=1000",
            "schedule.ema_half_life=5000", "train.ema_decay=0.999"]
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, "schedule.ema_half_life keeps G's EMA by a ramped half-life; "
                                     "train.ema_decay sets its decay otherwise")
    assert not (tmp_path / "run").exists()


def test_resuming_without_an_ema_names_the_key_that_asks_for_one(tiny_images, tmp_path):
    train(config_for(tiny_images, tmp_path, 2), run_dir=tmp_path / "r")
    config = resume_config(tmp_path / "r", ["train.steps=4", "schedule.images=64", "schedule.ema_half_life=50"])
    with pytest.raises(CheckpointError, match="has no EMA generator but schedule.ema_half_life is 50.0"):
        train(config, resume=tmp_path / "r")
