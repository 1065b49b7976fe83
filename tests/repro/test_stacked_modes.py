"""`stacked-modes`: its quick run against the files it saved, its protocol table and verdict, its criterion
on hand-made numbers and its registration."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ganforge.ablation import Variant
from ganforge.cli import main
from ganforge.repro import (DIFFERS, DOES_NOT, PROTOCOL_DIFFERS, QUICK, REPROS, ReproResult, decide, load_result,
                            run_repro)
from ganforge.repro import stacked_modes as sm

from .test_repros import needs_fashion


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    needs_fashion("stacked-modes")
    out = tmp_path_factory.mktemp("stacked-modes")
    return run_repro("stacked-modes", out, quick=True), out


def test_quick_rows_are_the_seed_means_of_the_runs(quick_run):
    result, out = quick_run
    assert load_result(out) == result and result.verdict == QUICK and isinstance(result.holds, bool)
    p = sm.QUICK
    assert result.extra["protocol"]["n"] == p.n and (out / "ablation.png").is_file()
    for variant in sm.variants(p):
        runs = [json.loads((out / variant.slug / f"seed{s}" / "result.json").read_text()) for s in range(p.seeds)]
        for key in (sm.MODES_KEY, sm.KL_KEY):
            row = next(r for r in result.rows if r.what == f"{variant.name}: {key}")
            assert row.ours == pytest.approx(np.mean([r[key] for r in runs]))
            assert row.spread == pytest.approx(np.std([r[key] for r in runs], ddof=1))
        for run in runs:   # 1..n modes; KL between 0 and that of one mode
            assert 1 <= run[sm.MODES_KEY] <= p.n and 0 <= run[sm.KL_KEY] <= math.log(1000) + 1e-9
    rpgan = next(r for r in result.rows if r.what == f"{sm.RPGAN}: {sm.MODES_KEY}")
    assert rpgan.paper == 1000 and "MNIST" in rpgan.note


def test_each_run_trained_what_its_variant_names(quick_run):
    from ganforge.config import load_config

    _, out = quick_run
    configs = {v.name: load_config(out / v.slug / "seed0" / "config.yaml") for v in sm.variants(sm.QUICK)}
    assert all(c.data.name == "stacked-fashion-mnist" and c.train.steps == sm.QUICK.steps for c in configs.values())
    assert configs[sm.PACGAN2].model.pack == 2 and configs[sm.PACGAN2].train.batch_size == 2 * sm.QUICK.batch
    assert configs[sm.MBD].model.mbd_kernels == sm.MBD_KERNELS
    rp = configs[sm.RPGAN]
    assert (rp.loss.name, rp.reg.r1, rp.reg.r2, rp.model.d_norm) == ("rpgan", sm.GAMMA, sm.GAMMA, "none")
    assert configs[sm.DCGAN].loss.name == "ns" and configs[sm.DCGAN].model.pack == 1


def test_a_full_run_on_fashion_mnist_is_never_judged_on_the_claim():
    for protocol in (sm.CPU, sm.GPU):
        for holds in (True, False):
            result = ReproResult("stacked-modes", "p", "", "", holds=holds, extra={"protocol": vars(protocol)})
            table = sm.table(result)
            assert next(row for row in table if row.what == "data").status == DIFFERS
            assert decide(False, holds, table) == PROTOCOL_DIFFERS != DOES_NOT
    declared = ReproResult("stacked-modes", "p", "", "", extra={"protocol": vars(sm.GPU)})
    gpu = {row.what: row for row in sm.table(declared)}
    assert gpu["metric"].status == gpu["training images"].status == gpu["packing"].status == "same"
    assert gpu["length"].fraction == pytest.approx(3_000 / 100_000)


def test_criterion_on_hand_made_numbers():
    modes = {sm.DCGAN: (100, 5), sm.PACGAN2: (900, 5), sm.MBD: (50, 5), sm.RPGAN: (1000, 0)}
    kl = {sm.DCGAN: (3.0, 0.1), sm.PACGAN2: (0.2, 0.1), sm.MBD: (4.0, 0.1), sm.RPGAN: (0.08, 0.01)}
    assert sm.beats_dcgan(modes, kl)                                     # minibatch discrimination is not judged
    assert not sm.beats_dcgan({**modes, sm.RPGAN: (100, 0)}, kl)         # no more modes than the DCGAN
    assert not sm.beats_dcgan(modes, {**kl, sm.PACGAN2: (3.5, 0.1)})     # more modes but a higher KL


def test_a_diverged_run_scores_as_failed(tmp_path, monkeypatch):
    from ganforge.ablation import Job
    from ganforge.errors import TrainingDiverged

    def diverge(*args, **kwargs):
        raise TrainingDiverged("loss/d is nan at step 3")

    monkeypatch.setattr("ganforge.runner.train", diverge)
    job = Job(Variant("x", ()), 0, config=None, run_dir=tmp_path / "x" / "seed0")
    job.run_dir.mkdir(parents=True)
    assert sm.train_and_score(job, 10, "cpu") == {sm.MODES_KEY: 0.0, sm.KL_KEY: math.log(1000)}
    assert json.loads((job.run_dir / "diverged.json").read_text())["message"].endswith("step 3")


def test_listed(capsys):
    assert "stacked-modes" in REPROS.names()
    assert main(["repro", "--list"]) == 0
    assert "  stacked-modes " in capsys.readouterr().out
