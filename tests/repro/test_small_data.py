"""small-data: the quick run's rows against its runs' own result files, the adaptive runs' logged p against
ADA's update rule, the elpv part skipped in one line without the package, the protocol table's verdict, the
criterion on hand-made numbers, and its place in `ganforge repro --list`. The quick run is skipped, with the
reason, when Fashion-MNIST is absent; its elpv part runs only with the optional elpv-dataset package."""
from __future__ import annotations

import importlib.util
import json
import math
import shutil
from dataclasses import asdict

import numpy as np
import pytest

from ganforge.augment import ADA_INTERVAL, ADA_RAMP_IMAGES
from ganforge.cli import main
from ganforge.errors import DataError
from ganforge.repro import DIFFERS, PROTOCOL_DIFFERS, QUICK, ReproResult, decide, load_result, run_repro
from ganforge.repro import small_data
from ganforge.repro.dcgan_common import fashion_mnist

HAS_ELPV = importlib.util.find_spec("elpv_dataset") is not None


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    try:
        fashion_mnist("train")
    except DataError as exc:
        pytest.skip(f"Fashion-MNIST is not installed: {exc}")
    out = tmp_path_factory.mktemp("small-data")
    return run_repro("small-data", out, quick=True), out


def _runs(out, name: str, variant) -> list[dict]:
    return [json.loads((out / name / variant.slug / f"seed{s}" / "result.json").read_text())
            for s in range(small_data.QUICK.seeds)]


def test_quick_rows_are_the_seed_means_of_each_runs_results(quick):
    result, out = quick
    assert result.verdict == QUICK and load_result(out) == result and isinstance(result.holds, bool)
    sets = [small_data.ELPV, small_data.FASHION] if HAS_ELPV else [small_data.FASHION]
    assert list(result.extra["final_p"]) == sets and (small_data.ELPV in result.extra["skipped"]) != HAS_ELPV
    rows = {row.what: row for row in result.rows}
    for name in sets:
        keys = ["swd", "precision", "recall"] + (["fd_fmnist"] if name == small_data.FASHION else [])
        for variant in small_data.VARIANTS:
            runs = _runs(out, name, variant)
            assert runs[0] != runs[1]                                 # the seeds trained different runs
            for key in keys + (["p"] if variant.name == small_data.ADAPTIVE_P else []):
                values = np.array([run[key] for run in runs])
                row = rows[f"{small_data.TITLES[name]}, {variant.name}: {key}"]
                assert row.ours == pytest.approx(values.mean()) and row.spread == pytest.approx(values.std(ddof=1))
            assert np.mean([run["swd"] for run in runs]) > 0
        assert f"{small_data.TITLES[name]}, {small_data.NONE}: p" not in rows       # fixed p is not a result
    for figure in result.figures:
        assert (out / figure).read_bytes()[:4] == b"\x89PNG"


def test_quick_runs_train_the_fraction_and_held_out_split_they_claim(quick):
    from ganforge.config import load_config

    _, out = quick
    config = load_config(out / "fashion" / "adaptive_p" / "seed1" / "config.yaml")
    assert config.data.fraction == 0.1 and config.data.augment == "color,translation,cutout"
    assert config.data.augment_p == "adaptive" and config.seed == 1 and config.train.steps == 4
    plain = load_config(out / "fashion" / "no_augmentation" / "seed0" / "config.yaml")
    assert plain.data.augment == "" and plain.data.fraction == 0.1
    if HAS_ELPV:
        with np.load(out / "elpv_test_16.npz") as test:
            assert test["x"].shape == (262, 1, 16, 16)


def test_adaptive_runs_log_p_and_move_it_by_adas_step(quick):
    result, out = quick
    step = ADA_INTERVAL * small_data.QUICK.fashion.batch / ADA_RAMP_IMAGES   # one adjustment of p
    for name, finals in result.extra["final_p"].items():
        for seed, final in enumerate(finals):
            run = out / name / "adaptive_p" / f"seed{seed}"
            curve = small_data.p_curve(run)
            assert [s for s, _ in curve] == [1, 2, 3, 4]              # logged every step of the quick run
            assert curve[0][1] == 0.0 and curve[-1][1] == pytest.approx(final)   # ADA starts p at 0
            # 4 steps of one D minibatch: one adjustment, after the fourth, by +-step from 0, clipped at 0
            assert final == pytest.approx(step) or final == 0.0
        assert not small_data.p_curve(out / name / "DiffAugment" / "seed0")     # p = 1 is not adapted


def test_without_elpv_the_fashion_part_runs_and_the_skip_is_one_line(quick, tmp_path, monkeypatch):
    _, out = quick

    def absent(*args, **kwargs):
        raise DataError("elpv: the elpv-dataset package is not installed (pip install ganforge[elpv])")

    monkeypatch.setattr(small_data, "write_elpv_npz", absent)
    shutil.copytree(out / "fashion", tmp_path / "fashion")            # finished runs are reused, not retrained
    result = run_repro("small-data", tmp_path, quick=True)
    reason = result.extra["skipped"][small_data.ELPV]
    assert "not installed" in reason and "\n" not in reason and "part skipped: elpv: the elpv-dataset" in result.summary
    assert list(result.extra["final_p"]) == [small_data.FASHION]
    assert not any(row.what.startswith("elpv") for row in result.rows)
    assert result.figures == ["small_data.png", "fashion_samples.png"] and not (tmp_path / "elpv").exists()
    assert "elpv skipped (elpv: the elpv-dataset package" in small_data.table(result)[0].ours


@pytest.mark.parametrize("p", [small_data.CPU, small_data.GPU])
def test_a_full_run_reads_protocol_differs_whatever_the_numbers(p):
    for skipped in ({}, {small_data.ELPV: "no package"}):
        result = ReproResult("small-data", "", "", "", extra={"protocol": asdict(p), "skipped": skipped})
        table = small_data.table(result)
        assert {row.what for row in table if row.status == DIFFERS} >= {"data", "architecture", "metric"}
        assert decide(False, False, table) == decide(False, True, table) == PROTOCOL_DIFFERS
        length = next(row for row in table if row.what == "length")
        least = min(p.elpv.images(), p.fashion.images()) if not skipped else p.fashion.images()
        assert length.fraction == pytest.approx(least / 300_000)


def test_protocols_fit_their_claims():
    assert small_data.CPU.elpv.resolution == small_data.GPU.elpv.resolution == 64
    assert small_data.CPU.seeds == small_data.GPU.seeds == 3
    overrides = small_data.set_overrides(small_data.FASHION, small_data.CPU.fashion)
    assert "data.fraction=0.1" in overrides and "train.steps=500" in overrides


def test_criterion_on_hand_made_numbers():
    assert small_data.diffaugment_helps((30.0, 1.0), (25.0, 1.0))          # 5 below, error sqrt(2)
    assert not small_data.diffaugment_helps((30.0, 3.0), (26.0, 3.0))      # 4 below, error 4.24
    assert not small_data.diffaugment_helps((25.0, 0.0), (30.0, 0.0))      # worse
    failed = small_data.failed_scores(small_data.ELPV, small_data.CPU.elpv)
    assert set(failed) == {"swd_64", "swd_32", "swd_16", "swd", "precision", "recall", "p"}
    assert failed["swd"] == math.inf and failed["recall"] == 0.0
    assert "fd_fmnist" in small_data.failed_scores(small_data.FASHION, small_data.CPU.fashion)


def test_listed(capsys):
    assert main(["repro", "--list"]) == 0
    assert "  small-data " in capsys.readouterr().out
