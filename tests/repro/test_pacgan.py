"""pacgan-table1: the batched model against S separate torch.nn trainings, the data path, resuming, the CLI."""
from __future__ import annotations

import json
import math
from dataclasses import asdict

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.cli import main
from ganforge.errors import ConfigError
from ganforge.repro import (DOES_NOT, NOT_IN_FULL, PROTOCOL_DIFFERS, REPRODUCES, ReproResult, judge_result,
                            pacgan)
from ganforge.repro.batched import BatchedPacGAN, train_step


class Maxout(nn.Module):
    def __init__(self, inputs: int, units: int, pieces: int) -> None:
        super().__init__()
        self.linear, self.units, self.pieces = nn.Linear(inputs, units * pieces), units, pieces

    def forward(self, x):
        return self.linear(x).view(len(x), self.units, self.pieces).amax(-1)


def reference_pair(batched: BatchedPacGAN, k: int, g_width: int, g_depth: int, d_width: int, pieces: int):
    """Model k of `batched` as plain torch.nn modules with the same starting weights."""
    g_layers, size = [], batched.z_dim
    for _ in range(g_depth):
        g_layers += [nn.Linear(size, g_width, bias=False), nn.BatchNorm1d(g_width, momentum=0.05), nn.ReLU()]
        size = g_width
    G = nn.Sequential(*g_layers, nn.Linear(g_width, batched.x_dim)).double()
    D = nn.Sequential(Maxout(batched.pack * batched.x_dim, d_width, pieces), *[Maxout(d_width, d_width, pieces)
                      for _ in range(len(batched.d_weights) - 1)], nn.Linear(d_width, 1)).double()
    with torch.no_grad():
        linears = [m for m in G if isinstance(m, nn.Linear)]
        for lin, w in zip(linears, [*batched.g_weights, batched.g_out_weight]):
            lin.weight.copy_(w[k].T)
        linears[-1].bias.copy_(batched.g_out_bias[k, 0])
        for i, bn in enumerate(m for m in G if isinstance(m, nn.BatchNorm1d)):
            bn.weight.copy_(batched.g_scale[k, i])
            bn.bias.copy_(batched.g_shift[k, i])
        for layer, w, b in zip(D[:-1], batched.d_weights, batched.d_biases):
            layer.linear.weight.copy_(w[k].T)
            layer.linear.bias.copy_(b[k, 0])
        D[-1].weight.copy_(batched.d_out_weight[k].T)
        D[-1].bias.copy_(batched.d_out_bias[k, 0])
    return G, D


def reference_generate(G: nn.Sequential, z_slots: torch.Tensor) -> torch.Tensor:
    """G applied to each slot `[m, B, 2]` as its own batch (PacGAN's code); the running statistics move
    towards the slots' average statistics, i.e. the average of the per-slot nn.BatchNorm1d updates."""
    norms = [m for m in G if isinstance(m, nn.BatchNorm1d)]
    old = [(bn.running_mean.clone(), bn.running_var.clone()) for bn in norms]
    outs, new = [], []
    for z in z_slots:
        for bn, (mean, var) in zip(norms, old):   # fresh tensors: autograd keeps the ones it saw
            bn.running_mean, bn.running_var = mean.clone(), var.clone()
        outs.append(G(z))
        new.append([(bn.running_mean.clone(), bn.running_var.clone()) for bn in norms])
    for i, bn in enumerate(norms):
        bn.running_mean = torch.stack([n[i][0] for n in new]).mean(0)
        bn.running_var = torch.stack([n[i][1] for n in new]).mean(0)
    return torch.cat(outs, dim=1)   # [B, m * 2]: slot j in columns 2j, 2j + 1


@pytest.mark.parametrize("pack", [1, 3])
def test_batched_training_equals_separate_torch_nn_trainings(pack):
    S, g_width, g_depth, d_width, pieces, B, steps = 3, 16, 4, 8, 5, 10, 5
    torch.manual_seed(0)
    batched = BatchedPacGAN(S, pack, g_width=g_width, g_depth=g_depth, d_width=d_width, pieces=pieces).double()
    batched.init_weights([torch.Generator().manual_seed(k) for k in range(S)])
    with torch.no_grad():   # start batch norm and biases away from 1/0 so a mix-up of models would show
        for p in [batched.g_scale, batched.g_shift, batched.g_out_bias, *batched.d_biases, batched.d_out_bias]:
            p.add_(0.1 * torch.randn_like(p))
    refs = [reference_pair(batched, k, g_width, g_depth, d_width, pieces) for k in range(S)]
    opts = [(torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.8, 0.999)),
             torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.8, 0.999))) for G, D in refs]
    optimizer = torch.optim.Adam(batched.parameters(), lr=1e-3, betas=(0.8, 0.999))
    targets = torch.tensor([[1.0], [0.9], [1.0]], dtype=torch.float64)
    for _ in range(steps):
        real = torch.randn(S, B, 2 * pack, dtype=torch.float64)
        z = torch.randn(S, pack, B, 2, dtype=torch.float64)
        d_loss, g_loss = train_step(batched, optimizer, real, z, targets)
        for k, ((G, D), (d_opt, g_opt)) in enumerate(zip(refs, opts)):
            fake = reference_generate(G, z[k])
            real_logits, fake_logits = D(real[k])[:, 0], D(fake)[:, 0]
            t = targets[k, 0]
            ref_d = (t * F.softplus(-real_logits) + (1 - t) * F.softplus(real_logits)).mean() \
                + F.softplus(fake_logits).mean()
            ref_g = F.softplus(-fake_logits).mean()
            d_grads = torch.autograd.grad(ref_d, list(D.parameters()), retain_graph=True)
            g_grads = torch.autograd.grad(ref_g, list(G.parameters()))
            for p, g in zip([*D.parameters(), *G.parameters()], d_grads + g_grads):
                p.grad = g
            d_opt.step()
            g_opt.step()
            torch.testing.assert_close(d_loss[k], ref_d.detach(), rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(g_loss[k], ref_g.detach(), rtol=1e-12, atol=1e-12)
    for k, (G, D) in enumerate(refs):
        twin = reference_pair(batched, k, g_width, g_depth, d_width, pieces)
        for (name, mine), ref in zip([*twin[0].named_parameters(), *twin[1].named_parameters()],
                                     [*G.parameters(), *D.parameters()]):
            torch.testing.assert_close(mine, ref, rtol=1e-9, atol=1e-12, msg=f"model {k} {name}")
        norms = [m for m in G if isinstance(m, nn.BatchNorm1d)]
        torch.testing.assert_close(batched.running_mean[k], torch.stack([bn.running_mean for bn in norms]))
        torch.testing.assert_close(batched.running_var[k], torch.stack([bn.running_var for bn in norms]))
        G.eval()
        z = torch.randn(7, 2, dtype=torch.float64)
        with torch.no_grad():
            mine = batched.generate(z.expand(S, -1, -1), train=False)[k]
            torch.testing.assert_close(mine, G(z), rtol=1e-9, atol=1e-12)
    assert not torch.allclose(batched.g_out_weight[0], batched.g_out_weight[1])


def test_group_batches_are_each_models_own_draws():
    keys = [("ring", "PacGAN2", 0), ("grid", "PacGAN2", 1)]
    group = pacgan.Group(2, keys, [1.0, 1.0], torch.device("cpu"))
    iteration = pacgan.ITERATIONS_PER_EPOCH + 3   # second epoch, fourth batch
    real, z = group.batch(iteration)
    assert real.shape == (2, pacgan.BATCH, 4) and z.shape == (2, 2, pacgan.BATCH, 2)
    for k, (mixture, _, seed) in enumerate(keys):
        points = pacgan.draw_points(mixture, seed)
        slots = pacgan.draw_slot_rows(mixture, seed, 2)
        order, zs = pacgan.draw_epoch(mixture, seed, 2, 1, torch.device("cpu"))
        rows = order[3 * pacgan.BATCH:4 * pacgan.BATCH]
        expected = torch.cat([points[slots[0, rows]], points[slots[1, rows]]], dim=1)
        torch.testing.assert_close(real[k], expected, rtol=0, atol=0)
        torch.testing.assert_close(z[k], zs[3], rtol=0, atol=0)
    # PacGAN's data: 100,000 points of its mixtures, drawn once per run
    grid = pacgan.draw_points("grid", 0)
    assert grid.shape == (100_000, 2) and (grid.round() % 2 == 0).all()
    ring = pacgan.draw_points("ring", 0)
    assert torch.allclose(ring.norm(dim=1), torch.ones(1), atol=0.06)


def _tiny(iterations: int) -> pacgan.Settings:
    return pacgan.Settings(["ring"], [1], 1, ["ls"], iterations, 2)


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    cpu = torch.device("cpu")
    straight = pacgan.run_protocol(_tiny(4), tmp_path / "a", math.inf, cpu, log=lambda _: None)
    pacgan.run_protocol(_tiny(2), tmp_path / "b", math.inf, cpu, log=lambda _: None)
    resumed = pacgan.run_protocol(_tiny(4), tmp_path / "b", math.inf, cpu, log=lambda _: None)
    a, b = straight["groups"][0].state_dict(), resumed["groups"][0].state_dict()
    assert a["iteration"] == b["iteration"] == 4
    for name in a["model"]:
        torch.testing.assert_close(a["model"][name], b["model"][name], rtol=0, atol=0)
    assert straight["curves"] == resumed["curves"]
    assert sorted({r["iteration"] for r in resumed["curves"]}) == [0, 2, 4]
    assert {r["variant"] for r in resumed["curves"]} == {"GAN", "GAN+LS0.9"}


def test_scores_come_from_metrics_modes():
    group = pacgan.Group(1, [("grid", "GAN", 0)], [1.0], torch.device("cpu"))
    record, = pacgan.score(group, pacgan.mixture_info())
    from ganforge.metrics.modes import mode_coverage
    centres, std = pacgan.mixture_info()["grid"]
    assert {k: record[k] for k in pacgan.METRICS} == mode_coverage(group.samples()[0], centres, std)


def _summary(modes, kl, iteration=pacgan.FULL_ITERATIONS, seeds=10):
    return {"iteration": iteration, "seeds": seeds, "modes": (modes, 0.1), "high_quality": (0.9, 0.01),
            "reverse_kl": (kl, 0.01)}


def test_criterion_every_packing_degree_beats_gan():
    good = {(mix, name): _summary(5 if name == "GAN" else 7, 0.5 if name == "GAN" else 0.1)
            for mix in ("ring", "grid") for name in ("GAN", "PacGAN2", "PacGAN3", "PacGAN4")}
    assert pacgan.packing_helps(good)[0]
    holds, why = pacgan.packing_helps({**good, ("grid", "PacGAN3"): _summary(4, 0.1)})
    assert not holds and "grid PacGAN3" in why
    assert not pacgan.packing_helps({("ring", "GAN"): _summary(5, 0.5)})[0]


def _judged(settings: pacgan.Settings, reached: int, holds: bool = True) -> str:
    result = ReproResult("pacgan-table1", "", "", "", holds=holds,
                         extra={"settings": asdict(settings), "iterations": {"pack1": reached, "pack2": reached}})
    return judge_result(result, pacgan.table).verdict


def test_verdict_follows_the_length_and_seeds_of_the_protocol_table():
    full = pacgan.full_settings()
    assert _judged(full, pacgan.FULL_ITERATIONS) == REPRODUCES
    assert _judged(full, pacgan.FULL_ITERATIONS, holds=False) == DOES_NOT
    assert _judged(full, 20_000) == f"{NOT_IN_FULL} (5% of the paper's length)"
    fewer = pacgan.Settings(list(pacgan.MIXTURES), [1, 2, 3, 4], 3, [], pacgan.FULL_ITERATIONS, 1000)
    assert _judged(fewer, pacgan.FULL_ITERATIONS) == f"{NOT_IN_FULL} (30% of the paper's seeds)"
    assert _judged(pacgan.Settings(["ring"], [1, 2], 10, [], pacgan.FULL_ITERATIONS, 1000),
                   pacgan.FULL_ITERATIONS) == PROTOCOL_DIFFERS


def test_refuses_to_continue_with_other_settings(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({**vars(_tiny(4)), "seeds": 3}))
    with pytest.raises(ConfigError, match="other settings"):
        pacgan.reproduce(_tiny(4), tmp_path, math.inf, torch.device("cpu"), log=lambda _: None)


def test_tiny_run_writes_results_beside_the_paper(tmp_path):
    torch.set_num_threads(1)
    settings = pacgan.Settings(["grid"], [2], 2, [], 2, 1)
    result = judge_result(pacgan.reproduce(settings, tmp_path, math.inf, torch.device("cpu"), log=lambda _: None),
                          pacgan.table)
    assert result.verdict == PROTOCOL_DIFFERS     # one mixture, one packing degree: not the paper's table
    rows = {r.what: r for r in result.rows}
    modes = rows["grid PacGAN2: modes"]
    assert modes.paper == 23.8 and "2 seeds at iteration 2" in modes.note
    assert all((tmp_path / f).stat().st_size > 0 for f in result.figures)
    pacgan.reproduce(settings, tmp_path, math.inf, torch.device("cpu"), log=lambda _: None)  # nothing left
    curves = json.loads((tmp_path / "curves.json").read_text())
    assert sorted({r["iteration"] for r in curves}) == [0, 1, 2] and len(curves) == 3 * 2


def test_time_limit_zero_only_rebuilds(tmp_path):
    settings = pacgan.Settings(["ring"], [1], 1, [], 3, 1)
    pacgan.reproduce(settings, tmp_path, 0, torch.device("cpu"), log=lambda _: None)
    assert {r["iteration"] for r in json.loads((tmp_path / "curves.json").read_text())} == {0}
    state = tmp_path / "state" / "pack1.pt"
    before = state.stat().st_mtime_ns
    pacgan.reproduce(settings, tmp_path, 0, torch.device("cpu"), log=lambda _: None)
    assert state.stat().st_mtime_ns == before


@pytest.mark.parametrize("args", [["pacgan-table1", "--quick", "--budget", "5"], ["gan1d", "--budget", "5"],
                                  ["pacgan-table1", "--budget", "-1"]])
def test_cli_refuses_a_budget_it_cannot_use(tmp_path, capsys, args):
    assert main(["repro", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ganforge: error:") and "--budget" in err and len(err.splitlines()) == 1
