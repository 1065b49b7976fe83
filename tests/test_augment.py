"""Differentiable augmentation (`data.augment`, `data.augment_p`): each policy against its definition, gradients
to G, the same augmentation in every pass of D, adaptive p, exact resume, and ranks that stay identical."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from ganforge.augment import (ADA_RAMP_IMAGES, POLICIES, Augment, brightness, contrast, cutout, fraction,
                              policy_names, saturation, translation)
from ganforge.config import make_config
from ganforge.data import build_dataset
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.engine.loop import resume_config, train
from ganforge.engine.objective import Objective
from ganforge.engine.stats import Stats, read_log
from ganforge.engine.training import Training
from ganforge.errors import ConfigError
from ganforge.models.discriminator import DOutput
from ganforge.registry import LOSSES

from .engine.test_host_reads import host_reads  # noqa: F401 (a fixture)
from .engine.test_resume import assert_same_state
from .runs import image_overrides, toy_overrides

CPU = torch.device("cpu")
ALL = list(POLICIES)


def images(n: int = 8, c: int = 3, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# --- each op against its definition


def test_brightness_adds_each_images_offset():
    x = images(3)
    offset = torch.tensor([-0.5, 0.0, 0.25])
    out = brightness(x, offset)
    for i in range(3):
        assert torch.equal(out[i], x[i] + offset[i])


def test_saturation_scales_the_distance_to_the_channel_mean():
    x = images(3)
    out = saturation(x, torch.tensor([0.0, 1.0, 2.0]))
    mean = x.mean(dim=1, keepdim=True)
    assert torch.allclose(out[0], mean[0].expand(3, -1, -1))  # grey: every channel at the pixel's mean
    assert torch.allclose(out[1], x[1])
    assert torch.allclose(out[2], 2 * x[2] - mean[2], atol=1e-6)
    grey = images(2, c=1)
    assert torch.allclose(saturation(grey, torch.tensor([0.0, 2.0])), grey)  # one channel: nothing to saturate


def test_contrast_scales_the_distance_to_the_image_mean():
    x = images(2)
    out = contrast(x, torch.tensor([0.5, 1.5]))
    for i, factor in enumerate((0.5, 1.5)):
        m = x[i].mean()
        assert torch.allclose(out[i], (x[i] - m) * factor + m, atol=1e-6)
        assert torch.allclose(out[i].mean(), m, atol=1e-6)  # the mean itself stays


@pytest.mark.parametrize("down, right", [(0, 0), (3, -2), (-4, 4), (9, 0), (-1, -9)])
def test_translation_moves_pixels_exactly_and_pads_with_zeros(down, right):
    x = images(1, size=8)
    out = translation(x, torch.tensor([down]), torch.tensor([right]))
    expected = torch.zeros_like(x)
    for r in range(8):
        for c in range(8):
            if 0 <= r - down < 8 and 0 <= c - right < 8:
                expected[0, :, r, c] = x[0, :, r - down, c - right]
    assert torch.equal(out, expected)


def test_cutout_zeroes_exactly_the_square_and_clips_it_at_the_border():
    x = images(2, size=32).abs() + 0.1  # no zero of its own
    out = cutout(x, torch.tensor([5, -6]), torch.tensor([10, 28]), (16, 16))
    hole = out == 0
    assert hole[0].all(dim=0).sum() == 16 * 16 and hole[0, :, 5:21, 10:26].all()
    assert hole[1, :, 0:10, 28:32].all() and hole[1].all(dim=0).sum() == 10 * 4  # the part inside
    assert torch.equal(out[~hole], x[~hole])


def test_policy_constants_are_the_papers():
    """Translation up to 1/8 of the side, cutout half of it, colour ranges of DiffAugment's code."""
    assert (fraction(32, 1 / 8), fraction(32, 1 / 2), fraction(28, 1 / 8), fraction(28, 1 / 2)) == (4, 16, 4, 14)
    g = torch.Generator().manual_seed(0)
    (shift_h, shift_w), = [POLICIES["translation"][0].draw(4000, 32, 32, g, CPU)]
    assert set(shift_h.tolist()) == set(range(-4, 5)) == set(shift_w.tolist())
    (top, left), = [POLICIES["cutout"][0].draw(4000, 32, 32, g, CPU)]
    assert set(top.tolist()) == set(range(-8, 25)) == set(left.tolist())  # centre anywhere in 0..32
    for op, (low, high) in zip(POLICIES["color"], ((-0.5, 0.5), (0.0, 2.0), (0.5, 1.5))):
        (value,) = op.draw(4000, 32, 32, g, CPU)
        assert low <= value.min() < low + 0.01 and high - 0.01 < value.max() < high


def test_cutout_policy_removes_a_half_size_square_inside_the_image():
    x = images(64).abs() + 0.1
    out = Augment(["cutout"], 1.0, CPU, 0)(x)
    zeros = (out == 0).all(dim=1).flatten(1).sum(1)
    assert zeros.max() == 16 * 16 and zeros.min() >= 8 * 8  # whole, or clipped to at least a quarter
    assert len(set(zeros.tolist())) > 1  # each image its own draw


# --- the augmenter


@pytest.mark.parametrize("policy", ALL)
def test_gradients_flow_through_each_policy_to_g(policy):
    G = torch.nn.Sequential(torch.nn.Linear(4, 3 * 16 * 16), torch.nn.Tanh(), torch.nn.Unflatten(1, (3, 16, 16)))
    fake = G(torch.randn(8, 4))
    seen = Augment([policy], 1.0, CPU, 0)(fake)
    assert not torch.equal(seen, fake)
    (seen * torch.randn_like(seen)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())


def test_p_zero_is_the_identity_and_p_half_augments_some_images():
    x = images(64)
    assert Augment(ALL, 0.0, CPU, 0)(x) is x
    assert torch.equal(Augment(ALL, "adaptive", CPU, 0)(x), x)  # ADA starts at p = 0
    out = Augment(["color"], 0.5, CPU, 0)(x)
    changed = (out != x).flatten(1).any(1)
    assert 16 < changed.sum() < 48
    assert torch.equal(out[~changed], x[~changed])


def test_draws_are_the_global_batchs_sliced_per_rank():
    """Two ranks of half the batch augment their halves exactly as one process augments the whole."""
    x = images(8)
    whole = Augment(ALL, 0.5, CPU, 3)(x)
    for rank in range(2):
        half = Augment(ALL, 0.5, CPU, 3, shard=lambda t, r=rank: t[r * 4:(r + 1) * 4], ranks=2)
        assert torch.equal(half(x[rank * 4:(rank + 1) * 4]), whole[rank * 4:(rank + 1) * 4])


def test_adaptive_p_rises_on_a_memorising_d_and_falls_otherwise_within_0_and_1():
    stats = Stats()
    aug = Augment(ALL, "adaptive", CPU, 0, report=stats.report)
    confident = torch.ones(16)  # sign(D(real)) = 1 > 0.6: D tells its training images apart
    for _ in range(3):
        aug.observe(confident, 16)
    assert aug.p == 0  # moves every 4 minibatches
    aug.observe(confident, 16)
    assert aug.p.item() == pytest.approx(4 * 16 / ADA_RAMP_IMAGES)  # 0 -> 1 in 500k images
    logged = stats.collect()
    assert logged["augment/rt"] == 1.0 and logged["augment/p"] > 0
    unsure = torch.tensor([1.0, -1.0] * 8)  # r_t = 0 < 0.6
    for _ in range(8):
        aug.observe(unsure, 16)
    assert aug.p == 0  # clamped at 0

    fast = Augment(ALL, "adaptive", CPU, 0, ramp_images=100)
    for _ in range(12):
        fast.observe(confident, 16)
    assert fast.p == 1  # clamped at 1
    for _ in range(4):
        fast.observe(unsure, 16)
    assert fast.p.item() == pytest.approx(1 - 64 / 100)


class Recorder(torch.nn.Module):
    """A linear D that keeps every input it judges."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(1, 3, 16, 16))
        self.seen: list[torch.Tensor] = []

    def forward(self, x, y=None, full=False):
        self.seen.append(x.detach().clone())
        logits = (x * self.w).flatten(1).sum(1)
        return DOutput(logits, None, logits[:, None]) if full else logits


def _shift_of(seen: torch.Tensor, original: torch.Tensor) -> tuple[int, int] | None:
    """The translation (within 1/8 of 16 = 2 pixels) that turns `original` into `seen`, if one does."""
    for down in range(-2, 3):
        for right in range(-2, 3):
            if torch.equal(translation(original[None], torch.tensor([down]), torch.tensor([right]))[0], seen):
                return down, right
    return None


def test_every_pass_of_d_sees_the_same_kind_of_augmentation_drawn_per_image():
    """D's real and fake passes, the penalties' inputs and G's pass all see translated images, each with its
    own shift."""
    from ganforge.config import LossConfig, RegConfig

    aug = Augment(["translation"], 1.0, CPU, 0)
    objective = Objective(LOSSES.get("ns"), LossConfig(), Stats(), RegConfig(r1=1.0, r2=1.0), aug)
    D = Recorder()
    real, fake = images(16, size=16, seed=1), images(16, size=16, seed=2)
    objective.discriminator_loss(D, real, None, fake, None)
    objective.penalty(D, real, None, fake)
    objective.generator_loss(D, fake, None)
    originals = [real, fake, real, fake, fake]  # D main (real, fake), R1, R2, G
    assert len(D.seen) == len(originals)
    for seen, original in zip(D.seen, originals):
        shifts = [_shift_of(s, o) for s, o in zip(seen, original)]
        assert None not in shifts and len(set(shifts)) > 1


def test_g_phase_trains_g_through_the_augmentation():
    G = torch.nn.Sequential(torch.nn.Linear(4, 3 * 16 * 16), torch.nn.Unflatten(1, (3, 16, 16)))
    from ganforge.config import LossConfig

    objective = Objective(LOSSES.get("ns"), LossConfig(), Stats(), augment=Augment(ALL, 1.0, CPU, 0))
    objective.generator_loss(Recorder(), G(torch.randn(8, 4)), None).backward()
    assert G[0].weight.grad.abs().sum() > 0


# --- configuration


@pytest.mark.parametrize("overrides, message", [
    (["data.augment=color,rotate"], "unknown policy 'rotate' (choose a comma list of color, translation, cutout)"),
    (["data.augment=color", "data.augment_p=1.5"], "data.augment_p must be a probability in [0, 1] or adaptive"),
    (["data.augment=color", "data.augment_p=sometimes"], "got 'sometimes'"),
    (["data.augment_p=adaptive"], "data.augment is off"),
])
def test_bad_augmentation_settings_are_refused_in_one_line(tiny_images, tmp_path, overrides, message):
    with pytest.raises(ConfigError, match="^[^\n]*$") as refused:
        config = make_config({}, image_overrides(tiny_images, tmp_path) + overrides)
        Training(config, build_dataset(config.data), CPU)
    assert message in str(refused.value)


def test_augmentation_of_point_data_is_refused(tmp_path):
    config = make_config({}, toy_overrides(tmp_path) + ["data.augment=color"])
    with pytest.raises(ConfigError, match="data.augment transforms images; data.name=ring has none"):
        Training(config, build_dataset(config.data), CPU)


def test_policy_names_read_the_comma_list():
    assert policy_names("") == [] and policy_names(" color , cutout") == ["color", "cutout"]


# --- training


AUGMENTED = ["data.augment=color,translation,cutout", "model.d_norm=none", "reg.r1=1", "reg.every=2"]


def test_training_steps_with_adaptive_augmentation_make_no_host_reads(tiny_images, tmp_path, host_reads):  # noqa: F811
    config = make_config({}, image_overrides(tiny_images, tmp_path) + AUGMENTED + ["data.augment_p=adaptive"])
    training = Training(config, build_dataset(config.data), CPU)
    training.train_step()
    host_reads.clear()
    for _ in range(4):  # an adjustment of p among them
        training.train_step()
    assert host_reads == []


@pytest.mark.parametrize("p", ["adaptive", "0.5"])
def test_a_run_resumed_at_6_matches_an_uninterrupted_12_bit_for_bit(tiny_images, tmp_path, p):
    overrides = image_overrides(tiny_images, tmp_path) + AUGMENTED + [f"data.augment_p={p}"]
    straight = train(make_config({}, [*overrides, "train.steps=12"]), run_dir=tmp_path / "straight")
    train(make_config({}, [*overrides, "train.steps=6"]), run_dir=tmp_path / "stopped")
    resumed = train(resume_config(tmp_path / "stopped", ["train.steps=12"]), resume=tmp_path / "stopped")
    a, b = load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint)
    assert_same_state(a, b)
    for key, value in a["augment"].items():
        assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["augment"][key])), key
    if p == "adaptive":
        log = read_log(tmp_path / "straight" / "log.jsonl")
        assert all("augment/p" in record for record in log) and any("augment/rt" in record for record in log)


def test_resuming_a_run_without_augmentation_state_is_refused(tiny_images, tmp_path):
    from ganforge.errors import CheckpointError

    train(make_config({}, image_overrides(tiny_images, tmp_path, steps=3)), run_dir=tmp_path / "plain")
    with pytest.raises(CheckpointError, match="no augmentation state but data.augment is color"):
        train(resume_config(tmp_path / "plain", ["train.steps=6", "data.augment=color"]), resume=tmp_path / "plain")


# --- two gloo ranks


def _rank(rank: int, port: int, npz: str, out: str) -> None:
    from ganforge.runner import train as run_train

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    import ganforge.engine.loop as loop

    made = []

    class Recorded(loop.Training):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    loop.Training = Recorded
    overrides = [*image_overrides(npz, out, steps=8), *AUGMENTED, "data.augment_p=adaptive"]
    run_train(make_config({}, overrides), run_dir=Path(out) / "ddp")
    training = made[-1]
    trained = training.augment.state_dict()
    for _ in range(4):  # a D that memorises on rank 0 only: r_t is their mean, 0, so p falls on both
        training.augment.observe(torch.full((16,), 1.0 - 2 * rank), 16)
    torch.save({"generator": training.G.state_dict(), "discriminator": training.D.state_dict(),
                "augment": trained, "p_after": training.augment.p}, Path(out) / f"rank{rank}.pt")
    dist.destroy_process_group()


@pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()), reason="needs gloo")
def test_two_gloo_ranks_with_adaptive_augmentation_stay_bit_identical(tiny_images, tmp_path):
    from .engine.test_distributed import free_port

    torch.multiprocessing.spawn(_rank, args=(free_port(), str(tiny_images), str(tmp_path)), nprocs=2)
    a, b = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))
    for net in ("generator", "discriminator"):
        for key in a[net]:
            assert torch.equal(a[net][key], b[net][key]), f"{net}.{key}"
    assert torch.equal(a["augment"]["p"], b["augment"]["p"])
    assert torch.equal(a["augment"]["generator"], b["augment"]["generator"])
    assert torch.equal(a["p_after"], b["p_after"]) and a["p_after"] <= a["augment"]["p"]
    assert json.loads((tmp_path / "ddp" / "log.jsonl").read_text().splitlines()[-1])["augment/p"] >= 0
