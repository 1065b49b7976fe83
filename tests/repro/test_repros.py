"""Every reproduction of this package under its quick protocol, checked against the files it saved, plus
the verdict rules (each module's criterion, and the protocol table's rule above them) against hand-made
numbers and the RESULTS.md generator against hand-made results."""
from __future__ import annotations

import json
import math
from dataclasses import asdict

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.special import logsumexp

from ganforge.cli import main
from ganforge.config import load_config
from ganforge.repro import (DIFFERS, DOES_NOT, NOT_IN_FULL, PROTOCOL_DIFFERS, QUICK, REDUCED, REPRODUCES,
                            REPROS, SAME, STATUSES, UNKNOWN, ReproResult, Row, Setting, amount, decide,
                            load_result, run_repro, table_text)
from ganforge.repro import gan1d, gan_parzen, pggan
from ganforge.repro.results_doc import FIGURE_WIDTH, write_results_doc

OURS = ("gan1d", "gan-parzen", "mode-collapse", "tips", "sngan-stability", "pggan")
FASHION = "/usr/share/datasets/fashion-mnist"


def needs_fashion(name: str):
    import os

    if name not in ("gan1d", "mode-collapse") and not os.path.isdir(FASHION):
        pytest.skip(f"{name} trains on Fashion-MNIST, which is not installed at {FASHION}")


def run_quick(name, tmp_path) -> tuple[ReproResult, object]:
    needs_fashion(name)
    out = tmp_path / name
    result = run_repro(name, out, quick=True)
    assert load_result(out) == result
    assert result.quick and result.verdict == QUICK and result.seconds > 0 and result.device
    assert result.table == REPROS.get(name).table(result) and isinstance(result.holds, bool)
    for figure in result.figures:
        assert Image.open(out / figure).size[0] > 100
    for row in result.rows:
        assert isinstance(row.ours, str) or not math.isnan(row.ours), row   # inf: reverse KL of no good sample
    return result, out


def test_list_names_every_reproduction_with_its_protocol_status(capsys):
    assert main(["repro", "--list"]) == 0
    printed = capsys.readouterr().out
    assert all(f"  {name} " in printed for name in OURS)
    assert printed.count("protocol: ") == len(REPROS.names())
    assert main(["repro", "--all", "--out", "x"]) == 2
    assert main(["repro", "gan1d", "--results"]) == 2


def _row(status: str, fraction: float | None = None, effect_at: float | None = None) -> Setting:
    return Setting("length" if fraction is not None else "data", "p", "section 1", "o", status, "why", fraction,
                   effect_at)


def test_a_differing_row_never_yields_a_claim():
    for holds in (True, False, None):
        for others in ([], [_row(SAME)], [_row(REDUCED, 0.5)], [_row(REDUCED, 0.5, 0.1)], [_row(UNKNOWN)]):
            assert decide(False, holds, [*others, _row(DIFFERS)]) == PROTOCOL_DIFFERS


def test_a_reduced_row_claims_only_past_where_the_paper_shows_its_effect():
    assert decide(False, False, [_row(SAME), _row(REDUCED, 0.12)]) == f"{NOT_IN_FULL} (12% of the paper's length)"
    assert decide(False, True, [_row(REDUCED, 0.12, 0.2)]) == f"{NOT_IN_FULL} (12% of the paper's length)"
    assert decide(False, True, [_row(REDUCED, 0.3, 0.2)]) == REPRODUCES
    assert decide(False, False, [_row(REDUCED, 0.3, 0.2), _row(UNKNOWN)]) == DOES_NOT
    assert decide(False, True, [_row(REDUCED, 0.5), _row(REDUCED, 0.0015)]) == \
        f"{NOT_IN_FULL} (0.15% of the paper's length)"    # the shortest row names the fraction
    assert amount("steps", "10", "s", "10", 10, 10).status == SAME
    assert amount("steps", "10", "s", "4", 4, 10, 0.2).fraction == 0.4
    with pytest.raises(ValueError, match="fraction"):
        Setting("length", "p", "s", "o", REDUCED)                      # a reduced row states its fraction
    with pytest.raises(ValueError, match="status"):
        Setting("length", "p", "s", "o", "roughly")


def test_a_quick_run_claims_nothing_and_a_full_run_needs_its_table():
    for table in ([], [_row(SAME)], [_row(DIFFERS)], [_row(REDUCED, 0.01)]):
        assert decide(True, True, table) == decide(True, False, table) == QUICK
    with pytest.raises(ValueError, match="table"):
        decide(False, True, [])
    with pytest.raises(ValueError, match="criterion"):
        decide(False, None, [_row(SAME)])


@pytest.mark.parametrize("name", sorted(REPROS.names()))
def test_every_declared_protocol_table_says_where_the_paper_states_each_value(name):
    repro = REPROS.get(name)
    for quick in (False, True):
        table = repro.table(ReproResult(name, repro.paper, "", "", quick=quick))
        assert table and {row.what for row in table} >= {"data"}
        assert all(row.status in STATUSES for row in table)
        for row in table:
            assert row.source or row.paper.startswith("not stated"), row   # a value comes with where it is said
            assert row.why or row.status not in (DIFFERS,), row              # a difference says why
        assert len(table_text(table)) == len(table) and all(len(cells) == 5 for cells in table_text(table))


def test_a_result_from_before_the_tables_is_judged_again_on_loading(tmp_path):
    legacy = {"name": "tips", "paper": "p", "protocol": "dcgan_fashion", "verdict":
              "does not reproduce at this protocol", "summary": "Not every trick helped.", "rows": [],
              "figures": [], "quick": False, "seconds": 1.0, "device": "cpu", "extra": {}}
    (tmp_path / "results.json").write_text(json.dumps(legacy))
    result = load_result(tmp_path)
    assert result.verdict == PROTOCOL_DIFFERS and result.holds is False
    assert result.summary.startswith("No verdict on the paper's claim") and "data (no CIFAR-10 offline)" in result.summary
    assert result.summary.endswith("Not every trick helped.")
    assert {row.what for row in result.table if row.status == DIFFERS} == {"data", "design", "metric"}
    # mode-collapse has changed protocol since: its earlier results differ as a whole
    (tmp_path / "results.json").write_text(json.dumps({**legacy, "name": "mode-collapse", "protocol": "toy_ring"}))
    assert load_result(tmp_path).verdict == PROTOCOL_DIFFERS


def test_verdict_rules_on_hand_made_numbers():
    assert gan1d.final_stage_reproduces(0.05, 0.05) and not gan1d.final_stage_reproduces(0.2, 0.05)
    assert not gan1d.final_stage_reproduces(0.05, 0.3)
    assert gan_parzen.ordering_holds((100, 2), (90, 2), (300, 3))
    assert not gan_parzen.ordering_holds((100, 4), (95, 4), (300, 3))      # within 2 combined errors
    assert not gan_parzen.ordering_holds((310, 2), (90, 2), (300, 3))      # above the data's own score
    assert pggan.growing_holds(26.0, 29.0, [64, 64], 64) and not pggan.growing_holds(29.0, 26.3, [64, 64], 64)
    assert pggan.growing_holds(26.0, 29.0, [64, 32], 64) is None          # a growing run short of 64x64


def test_gan1d_quick_stages_follow_the_protocol(tmp_path):
    result, out = run_quick("gan1d", tmp_path)
    steps, stages = gan1d.protocol(True), result.extra["stages"]
    assert [stages[k]["step"] for k in "abcd"] == [steps["a"], steps["a"] + 1, steps["a"] + 1 + steps["c"],
                                                   steps["d"]]
    rows = {row.what: row.ours for row in result.rows}
    for k in "abcd":
        assert rows[f"({k}) mean |D - D*|"] == stages[k]["d_gap_mean"] <= stages[k]["d_gap_max"] <= 1
        assert 0 <= rows[f"({k}) KS(p_g, p_data)"] <= 1 and 0 <= rows[f"({k}) mean |D(x) - 1/2| on data"] <= 0.5
    assert (out / "figure1.png").is_file() and (out / "runs" / "b" / "checkpoint.pt").is_file()
    n_dis = [load_config(out / "runs" / k / "config.yaml").train.n_dis for k in "abcd"]
    assert n_dis == [5, steps["b_dis"], 5, 5]


def test_gan_parzen_quick_against_numpy(tmp_path):
    from ganforge.config import DataConfig
    from ganforge.data import build_dataset
    from ganforge.evaluation import generator_sampler
    from ganforge.generate import load_generator

    result, out = run_quick("gan-parzen", tmp_path)
    p = gan_parzen.protocol(True)
    # the short run's score again, the log-likelihood by scipy's logsumexp in float64 on the same draws
    generator = torch.Generator().manual_seed(0)
    train_set = build_dataset(DataConfig(name="fashion-mnist"))
    test_set = build_dataset(DataConfig(name="fashion-mnist", split="test"))
    gan_parzen._draw(train_set, p["validation"], generator)
    test = ((gan_parzen._draw(test_set, p["test"], generator).reshape(p["test"], -1) + 1) / 2).double().numpy()
    fake = generator_sampler(load_generator(out / "runs" / "short" / "checkpoint.pt"), seed=1)(p["samples"])
    fake = ((fake.reshape(len(fake), -1) + 1) / 2).clamp(0, 1).double().numpy()
    sigma = result.extra["scores"]["short"]["parzen_sigma"]
    sq = ((test[:, None, :] - fake[None, :, :]) ** 2).sum(-1)
    log_norm = np.log(len(fake)) + test.shape[1] / 2 * np.log(2 * np.pi * sigma ** 2)
    ll = logsumexp(-sq / (2 * sigma ** 2), axis=1) - log_norm
    short = next(row for row in result.rows if row.what == f"DCGAN, {p['short']} steps")
    assert short.ours == pytest.approx(ll.mean(), abs=1e-6)
    assert short.spread == pytest.approx(ll.std() / np.sqrt(len(ll)), rel=1e-6)
    assert next(row for row in result.rows if "MNIST" in row.what).paper == 225.0


@pytest.mark.parametrize("name", ["tips", "sngan-stability"])  # pggan: tests/repro/test_pggan_elpv.py
def test_grid_repro_rows_are_the_runs_means(name, tmp_path):
    result, out = run_quick(name, tmp_path)
    grid = json.loads((out / "ablation.json").read_text())["variants"]
    assert (out / "ablation.png").is_file() and len(grid) >= 3
    for variant in grid:
        runs = [json.loads((out / folder / "result.json").read_text())
                for folder in sorted((out / variant_slug(variant["name"])).glob("seed*"))]
        assert len(runs) == variant["seeds"]
        for key in runs[0]:
            row = next((r for r in result.rows if r.what == f"{variant['name']}: {key}"), None)
            if row is not None:
                assert row.ours == pytest.approx(np.mean([r[key] for r in runs]))


def variant_slug(name: str) -> str:
    from ganforge.ablation import Variant

    return Variant(name, ()).slug


def test_results_doc_from_hand_made_results(tmp_path):
    root = tmp_path / "runs" / "repro"
    for folder, quick, value, device in (("gan1d", False, 0.01, "test CPU"), ("gan1d-quick", True, 0.2, "test CPU"),
                                         ("gan1d-gpu", False, 0.03, "test GPU")):
        (root / folder).mkdir(parents=True)
        Image.new("RGB", (1500, 300), "white").save(root / folder / "figure1.png")
        result = ReproResult(name="gan1d", paper="Goodfellow et al. 2014, Figure 1", protocol=f"p {folder}",
                             verdict=QUICK if quick else REPRODUCES, summary=f"s {folder}",
                             rows=[Row("(d) KS(p_g, p_data)", value, 0.0)], figures=["figure1.png"], quick=quick,
                             seconds=12.0, device=device, holds=True,
                             table=[Setting("z", "uniform", "Figure 1", f"normal {folder}", SAME)])
        (root / folder / "results.json").write_text(json.dumps(asdict(result)))
    doc = write_results_doc(root, tmp_path / "docs" / "RESULTS.md")
    text = doc.read_text()
    assert "| full | **reproduces** | 12 s | test CPU |" in text
    assert "| quick | **quick run: claims nothing** | 12 s | test CPU |" in text
    assert "| z | uniform | Figure 1 | normal gan1d | same |" in text                  # the full run's table
    assert "| gpu | **reproduces** | 12 s | test GPU |" in text                          # the GPU runbook's
    assert "| z | uniform | Figure 1 | normal gan1d-gpu | same |" in text              # with its own table
    assert "| (d) KS(p_g, p_data) | 0.01 | 0.03 | 0.2 | 0 |" in text                  # full, gpu, quick
    assert "![gan1d figure1.png (full)](img/repro/gan1d-full-figure1.png)" in text
    assert "![gan1d figure1.png (gpu)](img/repro/gan1d-gpu-figure1.png)" in text
    assert json.loads((tmp_path / "docs" / "repro" / "gan1d-gpu.json").read_text())["device"] == "test GPU"
    assert Image.open(tmp_path / "docs" / "img" / "repro" / "gan1d-full-figure1.png").width == FIGURE_WIDTH
    for name in set(REPROS.names()) - {"gan1d"}:
        assert f"## `{name}`" in text
    assert text.count("Not run (") == len(REPROS.names()) - 1
    kept = json.loads((tmp_path / "docs" / "repro" / "gan1d-full.json").read_text())
    assert kept["table"][0]["ours"] == "normal gan1d"
    # rewritten without the runs folder: from the results kept beside the document, figures and all
    import shutil

    shutil.rmtree(root)
    again = write_results_doc(root, tmp_path / "docs" / "RESULTS.md").read_text()
    assert again == text
    assert (tmp_path / "docs" / "img" / "repro" / "gan1d-full-figure1.png").is_file()


def test_html_report_shows_the_protocol_table(tmp_path):
    from ganforge.report.html import build_report

    table = [Setting("data", "CIFAR-10", "section 4", "Fashion-MNIST", DIFFERS, "no CIFAR-10 offline"),
             amount("length", "100,000 steps", "section 4", "200 steps", 200, 100_000)]
    result = ReproResult("tips", "p", "proto", "s", holds=True, table=table, seconds=1.0, device="cpu")
    result.verdict = decide(False, True, table)
    (tmp_path / "results.json").write_text(json.dumps(asdict(result)))
    text = build_report(tmp_path)
    assert "Verdict: protocol differs</p>" in text and "<th>where the paper says</th>" in text
    assert "<td>data</td><td>CIFAR-10</td><td>section 4</td><td>Fashion-MNIST</td>" \
           "<td>differs: no CIFAR-10 offline</td>" in text
    assert "<td>reduced (0.2%)</td>" in text
