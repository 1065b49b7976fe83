"""mode-collapse under Metz et al.'s appendix A: the networks and data against the appendix's numbers, the
unrolled look-ahead against torch's Adam, the written criterion on hand-made snapshots, and the quick run."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganforge.repro import QUICK, REDUCED, SAME, load_result, run_repro
from ganforge.repro import mode_collapse as mc
from ganforge.repro.batched import BatchedMetzGAN, adam_lookahead, metz_step


def _model(models: int = 3, pack: int = 1) -> BatchedMetzGAN:
    model = BatchedMetzGAN(models, pack, mc.Z_DIM, mc.WIDTH, 2, mc.D_SCALE)
    model.init_weights([torch.Generator().manual_seed(k) for k in range(models)], mc.GAIN)
    return model


def test_networks_are_the_appendix_ones():
    model = _model()
    assert [tuple(w.shape[1:]) for w in model.g_weights] == [(256, 128), (128, 128), (128, 2)]
    assert [tuple(w.shape[1:]) for w in model.d_weights] == [(2, 128), (128, 1)]
    for weight in [*model.g_weights, *model.d_weights]:      # orthogonal, gain 0.8: the small Gram is 0.64 I
        for k in range(3):
            w = weight[k].detach().double()
            gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
            torch.testing.assert_close(gram, 0.64 * torch.eye(len(gram), dtype=torch.float64), rtol=0, atol=1e-5)
    assert all((b == 0).all() for b in [*model.g_biases, *model.d_biases])
    assert not torch.equal(model.g_weights[0][0], model.g_weights[0][1])     # each seed its own start
    x = torch.randn(3, 5, 2)
    w1, w2, b1, b2 = model.discriminator_parameters()
    expected = torch.baddbmm(b2, F.relu(torch.baddbmm(b1, x / 4, w1)), w2)[..., 0]   # input scaled by 1/4
    torch.testing.assert_close(model.discriminate(x), expected)
    z = torch.randn(3, 7, 256)
    h = z
    for i, (w, b) in enumerate(zip(model.g_weights, model.g_biases)):
        h = torch.baddbmm(b, h, w)
        h = F.relu(h) if i < 2 else h
    torch.testing.assert_close(model.generate(z), h)


def test_data_is_eight_gaussians_on_radius_two():
    centres = mc.centres()
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 2.0)
    angles = np.sort(np.mod(np.arctan2(centres[:, 1], centres[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / 8)
    x = mc.sample_ring(40_000, torch.Generator().manual_seed(0)).numpy()
    nearest = np.argmin(((x[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert np.bincount(nearest, minlength=8).min() > 40_000 / 8 * 0.9
    assert np.std(x - centres[nearest]) == pytest.approx(0.02, rel=0.05)
    assert mc.held_modes(x) == list(range(8))


def test_lookahead_is_torch_adam_and_carries_the_gradient_to_g():
    torch.manual_seed(0)
    model = _model(2)
    opt = torch.optim.Adam(model.discriminator_parameters(), lr=1e-2, betas=(0.5, 0.999))
    real, fake = torch.randn(2, 16, 2), torch.randn(2, 16, 2)

    def loss(params):
        return (F.softplus(-model.discriminate(real, params)).mean(1)
                + F.softplus(model.discriminate(fake, params)).mean(1)).sum()

    params = list(model.discriminator_parameters())
    opt.zero_grad()
    loss(params).backward()
    opt.step()                                  # one real step first: the look-ahead starts from Adam's moments
    ahead = adam_lookahead(params, loss, [opt.state[p] for p in params], 3, 1e-2, (0.5, 0.999), 1e-8)
    for _ in range(3):
        opt.zero_grad()
        loss(params).backward()
        opt.step()
    for a, p in zip(ahead, params):
        torch.testing.assert_close(a, p.detach(), rtol=1e-5, atol=1e-6)


def test_unrolling_changes_g_s_update_and_not_d_s():
    real, z = torch.randn(2, 32, 2), torch.randn(2, 1, 32, 256)
    after = {}
    for unroll in (0, 5):
        model = _model(2)
        opt_d = torch.optim.Adam(model.discriminator_parameters(), lr=1e-4, betas=(0.5, 0.999))
        opt_g = torch.optim.Adam(model.generator_parameters(), lr=1e-4, betas=(0.5, 0.999))
        metz_step(model, opt_d, opt_g, real, z, torch.ones(2, 1), unroll)
        after[unroll] = [p.detach().clone() for p in model.discriminator_parameters()], model.g_weights[2].grad
    for a, b in zip(after[0][0], after[5][0]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)      # D's own step: the plain gradient either way
    assert not torch.allclose(after[0][1], after[5][1])       # G's gradient goes through the look-ahead


def test_criterion_as_written():
    wander = {0: [0, 1], 10: [3], 20: [5]}
    assert mc.plain_wanders(wander)
    assert not mc.plain_wanders({0: [0], 10: [3], 20: [3]})              # stays on one mode: does not wander
    assert not mc.plain_wanders({0: [0], 10: [1, 2, 3], 20: [4]})        # three modes at once: not collapsed
    assert mc.unrolled_covers({0: [], 10: list(range(8))}) and not mc.unrolled_covers({10: list(range(7))})
    every = {f"unrolled{mc.UNROLL}": [{10: list(range(8))}] * 2 + [{10: [1]}], "GAN": [wander] * 2 + [{10: [1]}]}
    assert mc.figure_holds(every)
    assert not mc.figure_holds({**every, "GAN": [wander] + [{10: [1], 20: [1]}] * 2})   # a majority stays put
    for on_five, held in ((10, [2, 5]), (9, [2])):                        # 1% of the samples is the bar
        x = np.concatenate([mc.centres()[[2]].repeat(1000 - on_five, 0), mc.centres()[[5]].repeat(on_five, 0)])
        assert mc.held_modes(x) == held


def test_quick_run_claims_nothing_and_keeps_the_protocol_table(tmp_path):
    torch.set_num_threads(1)
    result = run_repro("mode-collapse", tmp_path, quick=True)
    assert load_result(tmp_path) == result and result.verdict == QUICK
    statuses = {row.what: row.status for row in result.table}
    assert statuses["data"] == statuses["unrolling"] == statuses["optimiser"] == SAME
    assert statuses["length"] == statuses["batch"] == REDUCED
    rows = {row.what: row for row in result.rows}
    for variant in mc.VARIANTS:
        for step in mc.QUICK.snapshots:
            row = rows[f"{variant.name}, step {step:,}: modes holding samples"]
            assert 0 <= row.ours <= 8 and "per seed" in row.note
    assert result.extra["reached"] == {v.name: mc.QUICK.steps for v in mc.VARIANTS}
    assert (tmp_path / "snapshots.png").stat().st_size > 0
