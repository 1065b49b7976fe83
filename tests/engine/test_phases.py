"""The training step as named phases: each phase against a hand computation, and the step as their sum."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.config import make_config
from ganforge.data import Dataset, build_dataset
from ganforge.engine.training import Training

from ..runs import toy_overrides

CPU = torch.device("cpu")


def _training(tmp_path, *extra: str) -> Training:
    config = make_config({}, toy_overrides(tmp_path) + list(extra))
    return Training(config, build_dataset(config.data), CPU)


def test_d_main_is_the_cross_entropy_of_d_on_the_drawn_batch(tmp_path):
    training = _training(tmp_path)
    batch = training.draw(32, grad=False)
    expected = F.softplus(-training.D(batch.real)).mean() + F.softplus(training.D(batch.fake)).mean()
    assert torch.allclose(training.d_main(batch), expected, atol=1e-6)


def test_d_reg_is_r1_weighted_by_gamma_over_two_and_the_lazy_interval(tmp_path):
    training = _training(tmp_path, "reg.r1=3.0", "reg.every=4", "model.d_channels=16")
    batch = training.draw(32, grad=False)
    real = batch.real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(training.D(real).sum(), real)
    expected = 4 * 3.0 / 2 * grad.pow(2).sum(1).mean()
    assert torch.allclose(training.d_reg(batch), expected, rtol=1e-5)


def test_g_main_is_the_non_saturating_loss_and_gives_d_no_gradient(tmp_path):
    training = _training(tmp_path)
    batch = training.draw(32, grad=True)
    loss = training.g_main(batch)
    assert torch.allclose(loss, F.softplus(-training.D(batch.fake)).mean().detach(), atol=1e-6)
    assert all(p.requires_grad for p in training.D.parameters())  # unfrozen again for D's next phase
    loss.backward()
    assert all(p.grad is None for p in training.D.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in training.G.parameters())


def test_a_step_is_its_phases_in_order(tmp_path):
    """`train_step` against the same phases composed by hand on an identical run: bit-identical weights."""
    stepped, by_hand = _training(tmp_path), _training(tmp_path)
    stepped.train_step()
    batch = by_hand.draw(32, grad=True)
    d_loss = by_hand.d_main(batch)
    by_hand.opt_d.zero_grad()
    d_loss.backward()
    by_hand.opt_d.step()
    g_loss = by_hand.g_main(batch)
    by_hand.opt_g.zero_grad()
    g_loss.backward()
    by_hand.opt_g.step()
    for a, b in zip([*stepped.G.parameters(), *stepped.D.parameters()],
                    [*by_hand.G.parameters(), *by_hand.D.parameters()]):
        assert torch.equal(a, b)


def test_hooks_are_installed_only_when_the_config_asks(tmp_path):
    plain = _training(tmp_path)
    assert plain.before_step == plain.after_d_update == plain.after_step == []
    tricks = _training(tmp_path, "loss.name=wasserstein", "reg.clip=0.01", "train.ema_decay=0.9")
    assert [h.__name__ for h in tricks.after_d_update] == ["_clip"]
    assert [h.__name__ for h in tricks.after_step] == ["_update_ema"]
    tricks.train_step()
    assert max(p.abs().max().item() for p in tricks.D.parameters()) <= 0.01
    assert tricks.ema.shadow is not None and not all(
        torch.equal(a, b) for a, b in zip(tricks.ema.shadow.parameters(), tricks.G.parameters()))


def test_training_leaves_the_callers_dataset_where_it_is(tmp_path):
    config = make_config({}, toy_overrides(tmp_path))
    dataset = build_dataset(config.data)
    samples = dataset.samples
    Training(config, dataset, CPU).train_step()
    assert dataset.samples is samples
    moved = dataset.to(torch.device("meta"))
    assert moved is not dataset and moved.samples.device.type == "meta" and dataset.samples.device == CPU
    assert isinstance(moved, Dataset) and moved.labels.device.type == "meta"
