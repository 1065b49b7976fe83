"""The HTML report: one self-contained file (no URL outside it), escaped text, the verdict of a repro."""
from __future__ import annotations

import json
import re
from dataclasses import asdict

import torch

from ganforge.cli import main
from ganforge.config import load_config
from ganforge.repro import NOT_IN_FULL, REPRODUCES, ReproResult, Row
from ganforge.report import build_report, write_report
from ganforge.runner import train
from ganforge.viz import save_image_grid

from ..runs import image_overrides


def tiny_run(tiny_images, tmp_path):
    overrides = image_overrides(tiny_images, tmp_path, steps=6)
    overrides += ["eval.every=3", "eval.metrics=msssim", "eval.n=16"]
    return train(load_config(None, overrides), run_dir=tmp_path / "run").run_dir


def assert_self_contained(text: str) -> list[str]:
    """Every src/href is a data URI (or an in-page anchor); returns the image sources."""
    links = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', text)
    assert links, "the page has no pictures"
    for link in links:
        assert link.startswith("data:") or link.startswith("#"), link[:80]
    assert not re.search(r"https?://", text), "the page names a network address"
    return re.findall(r'<img src="([^"]*)"', text)


def test_run_report_is_self_contained_with_samples_curves_and_metrics(tiny_images, tmp_path):
    run = tiny_run(tiny_images, tmp_path)
    out = write_report(run)
    assert out == run / "report.html"
    text = out.read_text()
    images = assert_self_contained(text)
    assert all(src.startswith("data:image/png;base64,") for src in images)
    # two sample pictures (steps 3 and 6), the loss and D curves, the metrics over two evaluations
    assert text.count("<figure>") == len(list((run / "samples").glob("step_*.png"))) == 2
    assert len(images) >= 5
    assert "<h2>Metrics</h2>" in text and "msssim" in text
    assert 'type="range"' in text


def test_config_text_is_escaped(tiny_images, tmp_path):
    run = tiny_run(tiny_images, tmp_path)
    config = run / "config.yaml"
    config.write_text(config.read_text() + "# <script>alert('x')</script> & </pre>\n")
    text = build_report(run)
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;/pre&gt;" in text


def hand_made_repro(folder, verdict: str) -> ReproResult:
    folder.mkdir(parents=True, exist_ok=True)
    save_image_grid(torch.zeros(4, 1, 8, 8), folder / "figure.png")
    result = ReproResult(name="demo", paper="A & B 2014", protocol="tiny <protocol>", verdict=verdict,
                         summary="numbers say <b>this</b>", rows=[Row("log-likelihood", 1.5, 2.0, 0.25, "nats")],
                         figures=["figure.png"], quick=True, seconds=3.0, device="test CPU")
    (folder / "results.json").write_text(json.dumps(asdict(result)))
    return result


def test_repro_report_has_verdict_rows_and_figures(tmp_path):
    hand_made_repro(tmp_path / "repro", NOT_IN_FULL)
    text = build_report(tmp_path / "repro")
    assert_self_contained(text)
    assert f"Verdict: {NOT_IN_FULL}</p>" in text and 'class="verdict not-run"' in text
    assert "<td>log-likelihood</td><td>1.5 ± 0.25</td><td>2</td><td>nats</td>" in text
    assert "numbers say &lt;b&gt;this&lt;/b&gt;" in text and "A &amp; B 2014" in text
    assert text.count("<img ") == 1
    hand_made_repro(tmp_path / "ok", REPRODUCES)
    assert 'class="verdict reproduces">Verdict: reproduces' in build_report(tmp_path / "ok")


def test_cli_report_and_train_print_the_path(tiny_images, tmp_path, capsys):
    overrides = image_overrides(tiny_images, tmp_path, steps=3)
    assert main(["train", "dcgan_fashion", *overrides, "--out", str(tmp_path / "run")]) == 0
    assert f"report:     {tmp_path / 'run' / 'report.html'}" in capsys.readouterr().out
    assert (tmp_path / "run" / "report.html").is_file()
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "r.html")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "r.html")
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
