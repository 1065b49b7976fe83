"""Every reproduction of this package under its quick protocol, checked against the files it saved, plus
the verdict rules against hand-made numbers and the RESULTS.md generator against hand-made results."""
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
from ganforge.repro import (DOES_NOT, NOT_IN_FULL, REPRODUCES, REPROS, ReproResult, Row, judge, load_result,
                            run_repro)
from ganforge.repro import gan1d, gan_parzen, mode_collapse, pggan, sngan_stability, tips
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
    assert result.quick and result.verdict == NOT_IN_FULL and result.seconds > 0 and result.device
    for figure in result.figures:
        assert Image.open(out / figure).size[0] > 100
    for row in result.rows:
        assert isinstance(row.ours, str) or not math.isnan(row.ours), row   # inf: reverse KL of no good sample
    return result, out


def test_list_names_every_reproduction(capsys):
    assert main(["repro", "--list"]) == 0
    printed = capsys.readouterr().out
    assert all(f"  {name} " in printed for name in OURS)
    assert main(["repro", "--all", "--out", "x"]) == 2
    assert main(["repro", "gan1d", "--results"]) == 2


def test_judge_never_claims_for_a_quick_run():
    assert judge(True, True) == judge(True, False) == NOT_IN_FULL
    assert judge(False, True) == REPRODUCES and judge(False, False) == DOES_NOT


def test_verdict_rules_on_hand_made_numbers():
    assert gan1d.final_stage_reproduces(0.05, 0.05) and not gan1d.final_stage_reproduces(0.2, 0.05)
    assert not gan1d.final_stage_reproduces(0.05, 0.3)
    assert gan_parzen.ordering_holds((100, 2), (90, 2), (300, 3))
    assert not gan_parzen.ordering_holds((100, 4), (95, 4), (300, 3))      # within 2 combined errors
    assert not gan_parzen.ordering_holds((310, 2), (90, 2), (300, 3))      # above the data's own score
    assert mode_collapse.collapse_shown(8.0, 6.3) and not mode_collapse.collapse_shown(8.0, 8.0)
    assert not mode_collapse.collapse_shown(7.5, 6.0)
    assert tips.tricks_help({"DCGAN": 5.0, "a": 4.0, "b": 3.0}) and not tips.tricks_help({"DCGAN": 5.0, "a": 6.0})
    assert sngan_stability.sn_beats_bn(20.0, 21.0) and not sngan_stability.sn_beats_bn(30.0, 21.0)
    assert pggan.claims_hold(26.0, 29.0, 0.21, 0.30) and not pggan.claims_hold(29.0, 26.3, 0.21, 0.30)


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


@pytest.mark.parametrize("name", ["mode-collapse", "tips", "sngan-stability", "pggan"])
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
    for folder, quick, value in (("gan1d", False, 0.01), ("gan1d-quick", True, 0.2)):
        (root / folder).mkdir(parents=True)
        Image.new("RGB", (1500, 300), "white").save(root / folder / "figure1.png")
        result = ReproResult(name="gan1d", paper="Goodfellow et al. 2014, Figure 1", protocol=f"p {folder}",
                             verdict=NOT_IN_FULL if quick else REPRODUCES, summary=f"s {folder}",
                             rows=[Row("(d) KS(p_g, p_data)", value, 0.0)], figures=["figure1.png"], quick=quick,
                             seconds=12.0, device="test CPU")
        (root / folder / "results.json").write_text(json.dumps(asdict(result)))
    doc = write_results_doc(root, tmp_path / "docs" / "RESULTS.md")
    text = doc.read_text()
    assert "| full | **reproduces** | 12 s | test CPU |" in text
    assert "| quick | **not run in full** | 12 s | test CPU |" in text
    assert "| (d) KS(p_g, p_data) | 0.01 | 0.2 | 0 |" in text
    assert "![gan1d figure1.png (full)](img/repro/gan1d-full-figure1.png)" in text
    assert Image.open(tmp_path / "docs" / "img" / "repro" / "gan1d-full-figure1.png").width == FIGURE_WIDTH
    for name in set(REPROS.names()) - {"gan1d"}:
        assert f"## `{name}`" in text
    assert text.count("Not run (") == len(REPROS.names()) - 1
