"""pggan on elpv: the protocol tables of the CPU and GPU protocols against the paper's settings, the criterion
on hand-made numbers, carried .npz files used without the package, the one-line error without either, and the
quick run (skipped, with the reason, when the optional elpv-dataset package is absent)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ganforge.cli import main
from ganforge.config import load_config
from ganforge.errors import DataError
from ganforge.repro import DIFFERS, PROTOCOL_DIFFERS, QUICK, REDUCED, SAME, ReproResult, decide, load_result, run_repro
from ganforge.repro import pggan
from ganforge.repro.common import bundled


def _table(p: pggan.Protocol, share: float) -> dict:
    result = ReproResult("pggan", "", "", "", extra={"protocol": p.as_dict(), "share": share})
    return {row.what: row for row in pggan.table(result)}


def test_gpu_table_is_the_papers_but_for_data_length_and_metric():
    rows = _table(pggan.GPU, 40.0)
    assert {what for what, row in rows.items() if row.status == SAME} == {
        "resolution", "architecture", "loss", "optimiser", "batch", "comparison"}
    assert {what for what, row in rows.items() if row.status == DIFFERS} == {"data", "metric"}
    schedule = rows["growing schedule"]
    assert schedule.status == REDUCED and schedule.fraction == pytest.approx(800 / 800_000)
    assert decide(False, True, list(rows.values())) == PROTOCOL_DIFFERS


def test_cpu_table_states_what_the_preset_runs():
    rows = _table(pggan.CPU, 420.0)
    config = load_config(bundled(pggan.PRESET), [])
    assert config.data.resolution == 64 and config.growth.stable_images == [800] and config.train.batch_size == 16
    assert rows["resolution"].status == DIFFERS and rows["resolution"].ours == "64x64"
    assert rows["architecture"].ours == "z 128; 64 channels up to 8x8, halving above"
    assert rows["growing schedule"].fraction == pytest.approx(0.001)
    assert rows["comparison"].status == SAME and "420 s each" in rows["comparison"].ours


def test_criterion_needs_every_growing_run_at_the_final_resolution():
    assert pggan.growing_holds(10.0, 12.0, [64.0, 64.0], 64)
    assert not pggan.growing_holds(12.0, 10.0, [64.0, 64.0], 64)
    assert pggan.growing_holds(10.0, 12.0, [64.0, 32.0], 64) is None


def test_carried_files_are_used_without_the_package(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise DataError("elpv: the elpv-dataset package is not installed (pip install ganforge[elpv])")

    monkeypatch.setattr(pggan, "write_elpv_npz", refuse)
    for split in ("train", "test"):
        np.savez(tmp_path / f"elpv_{split}_16.npz", x=np.zeros((4, 1, 16, 16), np.uint8))
    assert pggan.data_files(tmp_path, 16)["test"] == tmp_path / "elpv_test_16.npz"
    with pytest.raises(DataError, match=r"not installed .*; or put elpv_train_64.npz into .*gpu_prepare\.sh"):
        pggan.data_files(tmp_path, 64)


def test_no_data_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise DataError("elpv: the elpv-dataset package is not installed (pip install ganforge[elpv])")

    monkeypatch.setattr(pggan, "write_elpv_npz", refuse)
    assert main(["repro", "pggan", "--quick", "--out", str(tmp_path / "q")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "gpu_prepare.sh" in err and "Traceback" not in err


def test_quick_run_grows_to_its_resolution_and_scores_against_held_out_images(tmp_path):
    pytest.importorskip("elpv_dataset", reason="the optional elpv-dataset package is not installed "
                                               "(pip install ganforge[elpv])")
    out = tmp_path / "pggan"
    result = run_repro("pggan", out, quick=True)
    assert result.verdict == QUICK and load_result(out) == result
    assert result.extra["test_images"] == 262 and result.extra["train_images"] == 2362
    assert result.extra["reached"] == [16.0] and isinstance(result.holds, bool)
    for variant in ("growing", "no_growing"):
        run = json.loads((out / variant / "seed0" / "result.json").read_text())
        assert run["images"] == pggan.QUICK.steps * 8 and run["swd"] == pytest.approx(run["swd_16"])
        row = next(r for r in result.rows if r.what == f"{variant.replace('_', ' ')}: swd")
        assert row.ours == run["swd"] > 0
    assert (out / "swd_levels.png").read_bytes()[:4] == b"\x89PNG" and (out / "ablation.png").is_file()
    with np.load(out / "elpv_test_16.npz") as held_out:
        assert held_out["x"].shape == (262, 1, 16, 16)
