"""The speed switches (train.amp, train.channels_last, train.compile, optim.impl) on the CPU: each trains, the
exact ones match the plain step, and combinations that cannot work are refused."""
import math

import pytest
import torch

from ganforge.config import make_config
from ganforge.data import build_dataset
from ganforge.engine.training import Training
from ganforge.errors import ConfigError

from ..runs import image_overrides, toy_overrides


def training(overrides: list[str]) -> Training:
    config = make_config({}, overrides)
    return Training(config, build_dataset(config.data), torch.device("cpu"))


def run(t: Training, steps: int = 2) -> list:
    return [t.train_step() for _ in range(steps)]


def assert_weights_close(a: Training, b: Training, atol: float) -> None:
    for net in ("G", "D"):
        for (name, p), q in zip(getattr(a, net).named_parameters(), getattr(b, net).parameters()):
            assert torch.allclose(p, q, atol=atol, rtol=0), f"{net}.{name} differs by {(p - q).abs().max()}"


def test_boolean_amp_of_older_configs_reads_as_a_precision():
    assert make_config({}, ["train.amp=false"]).train.amp == "none"
    assert make_config({}, ["train.amp=true"]).train.amp == "bf16"


@pytest.mark.parametrize("impl", ["foreach", "fused"])
def test_adam_implementations_match_the_loop(tiny_images, tmp_path, impl):
    base = image_overrides(tiny_images, tmp_path)
    reference, other = training(base + ["optim.impl=loop"]), training(base + [f"optim.impl={impl}"])
    run(reference, 3)
    run(other, 3)
    assert_weights_close(reference, other, atol=1e-6)


def test_channels_last_trains_like_the_default_format(tiny_images, tmp_path):
    base = image_overrides(tiny_images, tmp_path)
    plain, nhwc = training(base), training(base + ["train.channels_last=true"])
    assert nhwc.real_batch()[0].is_contiguous(memory_format=torch.channels_last)
    nhwc.order.position = 0  # undo the batch drawn above
    run(plain, 3)
    run(nhwc, 3)
    assert_weights_close(plain, nhwc, atol=1e-5)


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_autocast_steps_give_finite_losses_and_float32_weights(tiny_images, tmp_path, amp):
    t = training(image_overrides(tiny_images, tmp_path) + [f"train.amp={amp}"])
    before = [p.clone() for p in t.G.parameters()]
    phases = run(t, 3)
    assert all(math.isfinite(float(p.d_loss)) and math.isfinite(float(p.g_loss)) for p in phases)
    assert all(p.dtype == torch.float32 for p in t.G.parameters())
    assert t.scaler_d.is_enabled() == (amp == "fp16")
    assert any(not torch.equal(a, b) for a, b in zip(before, t.G.parameters()))  # steps were taken


def test_fp16_gradient_penalty_survives(tiny_images, tmp_path):
    """WGAN-GP and R1 in float16: the penalties are finite at every step, also at the first, where the
    gradient scaler's initial scale overflows and the step is skipped; training then goes on."""
    t = training(image_overrides(tiny_images, tmp_path) + [
        "train.amp=fp16", "reg.gp=10", "reg.r1=1", "model.d_norm=none", "loss.name=wasserstein"])
    before = [p.clone() for p in t.D.parameters()]
    for _ in range(4):
        t.train_step()
        stats = t.stats.collect()
        assert math.isfinite(stats["reg/gp"]) and math.isfinite(stats["reg/r1"]) and stats["reg/gp"] > 0
    assert 0 < t.scaler_d.get_scale() < math.inf
    assert all(torch.isfinite(p).all() for p in t.D.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, t.D.parameters()))


def test_compiled_networks_train_like_eager_ones_and_save_plain_state(tmp_path):
    base = toy_overrides(tmp_path)
    eager, fast = training(base), training(base + ["train.compile=default"])
    run(eager, 2)
    run(fast, 2)
    assert_weights_close(eager, fast, atol=1e-5)
    assert fast.state_dict()["generator"].keys() == eager.state_dict()["generator"].keys()


@pytest.mark.parametrize("extra, message", [
    (["train.compile=reduce-overhead"], r"reduce-overhead \(torch.compile with CUDA graphs\) needs CUDA"),
])
def test_switches_that_cannot_run_on_the_cpu_are_refused(tiny_images, tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message):
        training(image_overrides(tiny_images, tmp_path) + extra)


def test_channels_last_needs_images(tmp_path):
    with pytest.raises(ConfigError, match="channels_last is a memory format of image batches"):
        training(toy_overrides(tmp_path) + ["train.channels_last=true"])
