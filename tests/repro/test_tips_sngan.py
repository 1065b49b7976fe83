"""`tips` and `sngan-stability` without training: their criteria on hand-made numbers, their grids' configs
against the papers' settings, their protocol tables and the verdicts these give, and the divergence guard of
their grids. (Their quick runs are in test_repros.py.)"""
from __future__ import annotations

import json
import math

import pytest
import torch

from ganforge import ablation
from ganforge.ablation import Variant, plan
from ganforge.checks import check_config
from ganforge.config import load_config
from ganforge.errors import TrainingDiverged
from ganforge.models import build_models
from ganforge.repro import DIFFERS, NOT_IN_FULL, PROTOCOL_DIFFERS, REDUCED, SAME, ReproResult, decide
from ganforge.repro import sngan_stability as sn
from ganforge.repro import tips
from ganforge.repro.common import bundled


def _config(preset: str, overrides: list[str]):
    config = load_config(bundled(preset), overrides)
    check_config(config)
    return config


# ---- sngan-stability

def test_sn_robust_on_hand_made_numbers():
    good = {("C", "BN"): 20.0, ("C", "SN"): 22.0, ("F", "BN"): 80.0, ("F", "SN"): 30.0, ("F", "WGAN-GP"): 60.0}
    assert sn.sn_robust(good)
    assert not sn.sn_robust({**good, ("F", "WGAN-GP"): 29.0})            # another variant beats SN under F
    assert not sn.sn_robust({**good, ("F", "SN"): 34.0})                 # SN degrades past ROBUST x its C score
    assert sn.sn_robust({**good, ("F", "BN"): math.inf})                 # a diverged run is the worst
    assert not sn.sn_robust({**good, ("F", "SN"): math.inf})
    assert sn.sn_robust({("E", "BN"): 50.0, ("E", "SN"): 40.0, ("F", "BN"): 70.0, ("F", "SN"): 41.0})  # GPU grid
    with pytest.raises(ValueError):
        sn.sn_robust({("C", "BN"): 20.0, ("C", "SN"): 22.0})             # no hard setting: nothing to judge


@pytest.mark.parametrize("setting", sorted(sn.SETTINGS))
def test_each_setting_gives_table_1s_adam_and_n_dis(setting):
    config = _config("sngan_fashion", sn.setting_overrides(setting))
    lr, beta1, beta2, n_dis = sn.SETTINGS[setting]
    for adam in (config.optim.g, config.optim.d):
        assert (adam.lr, adam.beta1, adam.beta2) == (lr, beta1, beta2)
    assert config.train.n_dis == n_dis
    # the values of Miyato et al.'s Table 1 (E: the aggressive setting the earlier protocol used alone)
    assert sn.SETTINGS["E"] == (1e-3, 0.5, 0.999, 5) and sn.SETTINGS["C"] == (2e-4, 0.5, 0.999, 1)


def test_each_variant_builds_the_d_it_names():
    """The preset has spectral norm and the hinge loss on: every variant must set its own, so batch, layer and
    weight norm are not silently spectrally normalised too."""
    p = sn.CPU
    for variant in sn.grid(p):
        config = _config("sngan_fashion", [*sn.base_overrides(p), *variant.overrides])
        name = variant.name.split(", ")[1]
        assert config.model.d_sn == (name == "SN"), variant
        assert config.loss.name == ("wasserstein" if name == "WGAN-GP" else "ns"), variant
        assert config.reg.gp == (10.0 if name == "WGAN-GP" else 0.0), variant
        assert (config.model.name, config.model.g_channels, config.train.batch_size) == ("sngan", p.width, 64)
        G, D, spec = build_models(config.model, (1, 32, 32))
        norm = {"BN": torch.nn.BatchNorm2d, "LN": torch.nn.GroupNorm}.get(name)
        assert any(isinstance(m, norm) for m in D.modules()) if norm else True, variant
        weight_normed = any(hasattr(m, "parametrizations") and "weight" in m.parametrizations for m in D.modules())
        assert weight_normed == (name in ("WN", "SN")), variant  # both are parametrisations of the weight


def test_time_limits_split_the_budget_by_backward_passes():
    p = sn.CPU
    limits = sn.time_limits(p, 1800.0)
    seconds = {run: float(text.split("=")[1]) for run, text in limits.items()}
    assert sum(seconds.values()) * p.seeds == pytest.approx(1800.0, abs=1.0)
    assert seconds["F", "BN"] / seconds["C", "BN"] == pytest.approx((5 + 1) / (1 + 1), rel=1e-2)
    assert seconds["F", "WGAN-GP"] / seconds["F", "SN"] == pytest.approx((2 * 5 + 1) / (5 + 1), rel=1e-2)
    assert set(sn.time_limits(p, None).values()) == {""}
    assert all(float(v.split("=")[1]) > 0 for v in sn.time_limits(p, 0.0).values())  # 0 s would mean no limit
    with_limits = {v.name: v.overrides for v in sn.grid(p, 1800.0)}
    assert limits["F", "SN"] in with_limits["F, SN"]


def test_sngan_tables_and_their_verdicts():
    gpu = ReproResult("sngan-stability", "p", "proto", "s", extra={
        "protocol": vars(sn.GPU) | {"settings": list(sn.GPU.settings), "variants": list(sn.GPU.variants)},
        "reached": {"E, SN": 10_000, "F, BN": 10_000}})
    rows = {row.what: row for row in sn.table(gpu)}
    assert rows["architecture"].status == SAME and rows["setting E"].status == rows["setting F"].status == SAME
    assert rows["length"].status == REDUCED and rows["length"].fraction == pytest.approx(0.1)
    assert rows["D normalisations compared"].fraction == pytest.approx(3 / 7)
    assert rows["data"].status == rows["metric"].status == DIFFERS
    assert decide(False, True, sn.table(gpu)) == PROTOCOL_DIFFERS
    # were data and metric the paper's, the GPU grid would still be short of the paper's length
    same = [row for row in sn.table(gpu) if row.status != DIFFERS]
    assert decide(False, True, same).startswith(NOT_IN_FULL)
    cpu = sn.table(ReproResult("sngan-stability", "p", "", "s"))   # declared: what a run here would use
    assert {row.what for row in cpu if row.status == DIFFERS} >= {"data", "metric"}
    legacy = sn.table(ReproResult("sngan-stability", "p", "dcgan_fashion setting E", "s"))
    assert [row.status for row in legacy] == [DIFFERS]


def test_a_diverged_run_is_a_result_and_the_grid_goes_on(tmp_path, monkeypatch):
    variants = [Variant("a", ()), Variant("b", ())]
    jobs = plan(bundled("gan1d"), ["train.steps=2"], variants, 1, tmp_path)
    calls = []

    def fake_train_job(job):
        calls.append(job.variant.name)
        if job.variant.name == "a":
            raise TrainingDiverged("training diverged by step 1: loss/d became nan; no checkpoint is kept")

    monkeypatch.setattr(ablation, "train_job", fake_train_job)
    monkeypatch.setattr(sn, "score_job", lambda job, metrics, n: {"fd_fmnist": 3.0})
    results = sn.run_guarded(jobs, "fd_fmnist", 10, {"fd_fmnist": math.inf})
    assert results == {("a", 0): {"fd_fmnist": math.inf}, ("b", 0): {"fd_fmnist": 3.0}}
    assert "diverged by step 1" in json.loads((jobs[0].run_dir / "diverged.json").read_text())["message"]
    # run again (a resumed grid): the diverged run is not trained again
    assert sn.run_guarded(jobs, "fd_fmnist", 10, {"fd_fmnist": math.inf})[("a", 0)] == {"fd_fmnist": math.inf}
    assert calls == ["a", "b", "b"]
    summary, reached, diverged = sn.run_safe_grid(tmp_path, "gan1d", ["train.steps=2"], variants, 1, "fd_fmnist",
                                                  10, {"fd_fmnist": math.inf})
    assert diverged == ["a (seed 0)"] and set(reached) == {"b"}   # a diverged run is not short of time
    assert [row["mean"]["fd_fmnist"] for row in summary.variants] == [math.inf, 3.0]


# ---- tips

def test_each_trick_counts_on_hand_made_numbers():
    means = {tips.FULL: 10.0, **{tips.minus(t): 14.0 for t in tips.FULL_SET}}
    errors = {name: 1.0 for name in means}
    assert tips.each_trick_counts(means, errors)
    assert not tips.each_trick_counts({**means, tips.minus("LS"): 11.0}, errors)   # within the error
    assert not tips.each_trick_counts({**means, tips.minus("MBF"): 9.0}, errors)   # removing it helps


def test_tips_grid_is_table_3s_leave_one_out_plus_each_trick_alone():
    grid = tips.variants()
    full = set(grid[tips.FULL].split())
    assert full == {word for text in tips.FULL_SET.values() for word in text.split()}
    for trick, text in tips.FULL_SET.items():
        assert set(grid[tips.minus(trick)].split()) == full - set(text.split())
    assert grid["DCGAN"] == "" and "loss.feature_matching=true" not in full
    for name, text in grid.items():   # every variant is a valid, buildable run of the preset
        config = _config("dcgan_fashion", [*tips.overrides(tips.QUICK), *text.split()])
        build_models(config.model, (1, 32, 32), num_classes=10)
    config = _config("dcgan_fashion", grid[tips.FULL].split())
    assert (config.model.d_label, config.loss.real_label, config.model.g_norm) == ("classes", 0.9, "virtual")
    assert (config.model.mbd_kernels, config.model.mbd_dim) == (100, 5)
    fixed = load_config(bundled("dcgan_fashion"), tips.overrides(tips.FULL_PROTOCOL))
    assert fixed.train.steps == tips.FULL_PROTOCOL.steps and fixed.train.time_limit == 0  # steps, not wall-clock
    assert tips.FULL_PROTOCOL.seeds == 3


def test_tips_grid_measures_minibatch_discrimination_without_batch_norm_and_its_control():
    """The finding on the collapsed MBD runs (repro/tips.py): the layer failed behind D's batch norm and
    worked in a D without it, as Salimans et al.'s D (weight norm) has; the grid measures both beside the
    control, each differing from its neighbour in one switch only."""
    grid = {name: set(text.split()) for name, text in tips.variants().items()}
    assert grid[tips.MBD_NO_BN] - grid["MBD"] == {"model.d_norm=none"} == grid[tips.NO_BN] - grid["DCGAN"]
    assert grid[tips.MBD_NO_BN] - grid[tips.NO_BN] == set(tips.FULL_SET["MBF"].split())
    for name in ("DCGAN", "MBD"):
        assert _config("dcgan_fashion", sorted(grid[name])).model.d_norm in ("", "batch")
    for name in (tips.NO_BN, tips.MBD_NO_BN):
        config = _config("dcgan_fashion", sorted(grid[name]))
        assert config.model.d_norm == "none"
        D = build_models(config.model, (1, 32, 32))[1]
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())


def test_tips_tables_and_their_verdicts():
    result = ReproResult("tips", "p", "proto", "s", extra={"protocol": vars(tips.FULL_PROTOCOL)})
    rows = {row.what: row for row in tips.table(result)}
    assert rows["design"].status == REDUCED and rows["design"].fraction == pytest.approx(3 / 5)
    assert rows["minibatch discrimination"].status == rows["label smoothing"].status == SAME
    assert decide(False, True, tips.table(result)) == PROTOCOL_DIFFERS
    legacy = tips.table(ReproResult("tips", "p", "dcgan_fashion", "s"))
    assert {row.what for row in legacy if row.status == DIFFERS} == {"data", "design", "metric"}
