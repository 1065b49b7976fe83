"""A run stopped and resumed ends with exactly the weights of an uninterrupted run with the same seed."""
import pytest
import torch

from ganforge.config import make_config
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.engine.loop import resume_config, train

from ..runs import image_overrides, toy_overrides


def assert_same_state(a: dict, b: dict) -> None:
    for key in ("generator", "discriminator", "generator_ema"):
        if a[key] is None:
            assert b[key] is None
            continue
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), f"{key}.{name} differs"
    for key in ("optim_g", "optim_d"):
        for index, state in a[key]["state"].items():
            for name, value in state.items():
                assert torch.equal(value, b[key]["state"][index][name]), f"{key} state {index}.{name} differs"
    assert a["step"] == b["step"] and a["batch_order"] == b["batch_order"]
    assert torch.equal(a["z_generator"], b["z_generator"])


def test_toy_run_resumed_at_300_matches_uninterrupted_600(tmp_path):
    straight = train(make_config({}, toy_overrides(tmp_path, steps=600)), run_dir=tmp_path / "straight")
    first = train(make_config({}, toy_overrides(tmp_path, steps=300)), run_dir=tmp_path / "stopped")
    assert load_checkpoint(first.checkpoint)["step"] == 300
    resumed = train(resume_config(tmp_path / "stopped", ["train.steps=600"]), resume=tmp_path / "stopped")
    assert resumed.steps == 600
    assert_same_state(load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint))


def test_dcgan_with_ema_resumed_mid_run_matches(tiny_images, tmp_path):
    straight = train(make_config({}, image_overrides(tiny_images, tmp_path, steps=12)), run_dir=tmp_path / "a")
    train(make_config({}, image_overrides(tiny_images, tmp_path, steps=5)), run_dir=tmp_path / "b")
    resumed = train(resume_config(tmp_path / "b", ["train.steps=12"]), resume=tmp_path / "b")
    assert_same_state(load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint))


def test_resumed_log_continues(tmp_path):
    train(make_config({}, toy_overrides(tmp_path, steps=20)), run_dir=tmp_path / "r")
    train(resume_config(tmp_path / "r", ["train.steps=40"]), resume=tmp_path / "r")
    from ganforge.engine.stats import read_log

    assert [r["step"] for r in read_log(tmp_path / "r" / "log.jsonl")] == [10, 20, 30, 40]


def test_resume_after_a_kill_drops_records_past_the_checkpoint(tmp_path):
    """A killed run may have logged steps its checkpoint never saw; the resumed log must not repeat them."""
    from ganforge.engine.stats import append_jsonl, read_log

    run = tmp_path / "r"
    train(make_config({}, toy_overrides(tmp_path, steps=20)), run_dir=run)
    for step in (30, 40):  # what a run killed between checkpoints leaves behind
        append_jsonl(run / "log.jsonl", {"step": step, "time": 1e6})
        append_jsonl(run / "metrics.jsonl", {"step": step, "swd": 1.0})
    append_jsonl(run / "metrics.jsonl", {"step": 20, "swd": 2.0})
    train(resume_config(run, ["train.steps=40"]), resume=run)
    records = read_log(run / "log.jsonl")
    assert [r["step"] for r in records] == [10, 20, 30, 40]
    times = [r["time"] for r in records]
    assert times == sorted(times) and times[-1] < 1e6  # the second session's clock continues the first's
    assert read_log(run / "metrics.jsonl") == [{"step": 20, "swd": 2.0}]


SWITCHES = [
    ["model.g_label=concat", "model.d_label=acgan"],
    ["model.g_label=cbn", "model.d_label=projection"],
    ["model.g_label=concat", "model.d_label=concat", "model.g_norm=reference", "model.reference_size=8"],
    ["model.g_norm=virtual", "model.reference_size=8", "model.d_label=classes", "loss.feature_matching=true"],
    ["model.pack=2", "model.mbd_kernels=4", "loss.real_label=0.9"],
    ["train.unroll=2"],
    ["train.ema_rampup=true"],
    ["loss.mode_seeking=1", "model.g_label=concat", "model.d_label=projection"],
    ["train.ema_bn_batches=2", "model.g_label=concat", "model.d_label=projection"],
    ["model.d_sn=true", "model.g_sn=true", "model.d_norm=none", "loss.name=hinge", "reg.r1=1", "reg.every=2"],
    ["model.name=sngan", "model.d_sn=true", "loss.name=wasserstein", "reg.gp=10", "train.n_dis=2"],
    ["model.name=resnet", "data.resolution=16", "model.d_sn=true", "reg.clip=0.05"],
]


@pytest.mark.parametrize("switches", SWITCHES, ids=lambda s: ",".join(o.split("=")[0].split(".")[1] for o in s))
def test_every_switch_trains_and_resumes_exactly(tiny_images, tmp_path, switches):
    overrides = image_overrides(tiny_images, tmp_path, steps=6) + switches
    straight = train(make_config({}, overrides), run_dir=tmp_path / "a")
    train(make_config({}, overrides[:-len(switches)] + ["train.steps=3"] + switches), run_dir=tmp_path / "b")
    resumed = train(resume_config(tmp_path / "b", ["train.steps=6"]), resume=tmp_path / "b")
    assert_same_state(load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint))
