"""The report page: sections of escaped text, tables and embedded PNGs, joined into one HTML string.

Everything read from disk (config text, log keys, a repro's prose) goes through `html.escape`; pictures are
embedded as data URIs; the only script is the sample slider's few lines, which the page works without.
"""
from __future__ import annotations

import base64
import html
import json
import math
import tempfile
from pathlib import Path

import numpy as np

from ..engine.stats import read_log
from ..errors import GanforgeError
from ..fileio import atomic_path
from ..outputs import check_file

MAX_SNAPSHOTS = 12      # sample pictures kept in the slider, evenly spread over training, the last included
CURVE_GROUPS = (("losses", ["loss/d", "loss/g"]), ("discriminator", ["d/*"]), ("penalties", ["reg/*"]),
                ("spectral norms", ["sigma/*"]), ("growing", ["growth/resolution", "growth/alpha"]))
NOT_METRICS = {"step", "n", "seed", "ema", "seconds"}

STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}img{max-width:100%}
.verdict{font-size:1.15em;font-weight:bold;padding:.5em .8em;border-radius:4px;display:inline-block}
.reproduces{background:#d8f0d8}.does-not{background:#f6d6d6}.not-run{background:#eee}
.slider figure{margin:0}.js .slider figure{display:none}.js .slider figure.shown{display:block}
figcaption{font-size:.85em;color:#555}
.rows td:last-child{text-align:left}.row{display:flex;flex-wrap:wrap;gap:1em}.row img{max-width:540px}"""

SLIDER_JS = """document.documentElement.classList.add('js');
document.querySelectorAll('.slider').forEach(function (box) {
  var figures = box.querySelectorAll('figure'), range = box.querySelector('input');
  function show() { figures.forEach(function (f, i) { f.classList.toggle('shown', i == range.value); }); }
  range.addEventListener('input', show); show();
});"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image(path: Path, alt: str) -> str:
    return f'<img src="{data_uri(path.read_bytes())}" alt="{html.escape(alt)}">'


def table(header: list[str], rows: list[list[str]], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><tr>{head}</tr>{body}</table>' if css else f"<table><tr>{head}</tr>{body}</table>"


def number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    if isinstance(value, int) or not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def page(title: str, sections: list[str]) -> str:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<link rel=\"icon\" href=\"data:,\"><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            + "\n".join(sections) + f"<script>{SLIDER_JS}</script></body></html>")


def slider(pictures: list[Path]) -> str:
    """The sample pictures over training: a range input shows one at a time (all of them without script)."""
    if len(pictures) > MAX_SNAPSHOTS:
        keep = np.linspace(0, len(pictures) - 1, MAX_SNAPSHOTS).round().astype(int)
        pictures = [pictures[i] for i in sorted(set(keep))]
    figures = "".join(f"<figure>{image(p, p.stem)}<figcaption>{html.escape(p.stem.replace('_', ' '))}"
                      "</figcaption></figure>" for p in pictures)
    return (f'<div class="slider"><input type="range" min="0" max="{len(pictures) - 1}" '
            f'value="{len(pictures) - 1}" aria-label="snapshot">{figures}</div>')


def curve_pictures(records: list[dict], folder: Path, title: str) -> list[str]:
    """One plot per group of logged keys that the log has (losses, D's statistics, penalties...)."""
    from ..viz import save_curves

    pictures = []
    for name, patterns in CURVE_GROUPS:
        path = folder / f"{name.replace(' ', '_')}.png"
        try:
            save_curves(records, patterns, path, title=f"{title}: {name}")
        except ValueError:  # the log has no key of this group
            continue
        pictures.append(image(path, name))
    return pictures


def run_sections(run: Path, work: Path) -> list[str]:
    sections = []
    config = run / "config.yaml"
    if config.is_file():
        sections.append("<h2>Config</h2><details><summary>config.yaml (the resolved config; "
                        f"<code>ganforge train config.yaml</code> repeats the run)</summary>"
                        f"<pre>{html.escape(config.read_text())}</pre></details>")
    pictures = sorted((run / "samples").glob("step_*.png"))
    if pictures:
        sections.append("<h2>Samples over training</h2>" + slider(pictures))
    if (run / "growth.png").is_file():
        sections.append("<h2>Growing: each resolution's last samples</h2>" + image(run / "growth.png", "growth"))
    log = read_log(run / "log.jsonl")
    if log:
        sections.append('<h2>Training curves</h2><div class="row">' + "".join(curve_pictures(log, work, run.name))
                        + "</div>")
    metrics = read_log(run / "metrics.jsonl")
    if metrics:
        keys = list(dict.fromkeys(k for r in metrics for k in r if k not in NOT_METRICS))
        first = [k for k in ("step", "n") if any(k in r for r in metrics)]
        rows = [[number(r.get(k)) for k in first + keys] for r in metrics]
        section = "<h2>Metrics</h2>" + table(first + keys, rows)
        steps = {r.get("step") for r in metrics}
        if len(steps) > 1:
            from ..viz import save_curves

            path = save_curves(metrics, keys, work / "metrics.png", title=f"{run.name}: metrics")
            section += image(path, "metrics")
        sections.append(section)
    if not sections:
        raise GanforgeError(f"{run} holds neither a run (config.yaml, log.jsonl, samples/) nor a repro "
                            "(results.json)")
    return sections


VERDICT_CLASS = {"reproduces": "reproduces", "does not reproduce": "does-not"}   # any other: "not-run"


def repro_sections(folder: Path) -> tuple[str, list[str]]:
    from ..repro import TABLE_HEADER, load_result, table_text

    result = load_result(folder)
    css = VERDICT_CLASS.get(result.verdict, "not-run")
    mode = "quick (reduced) protocol" if result.quick else "full protocol"
    sections = [f'<p class="verdict {css}">Verdict: {html.escape(result.verdict)}</p>',
                f"<p>{html.escape(result.paper)}. {html.escape(mode)}, {result.seconds:.0f} s on "
                f"{html.escape(result.device)}.</p>",
                f"<h2>Summary</h2><p>{html.escape(result.summary)}</p>",
                f"<h2>Protocol</h2><p>{html.escape(result.protocol)}</p>"]
    if result.table:
        sections.append("<h2>Protocol table: the paper's settings beside ours</h2>"
                        + table(TABLE_HEADER, table_text(result.table), "rows"))
    rows = [[row.what, number(row.ours) + (f" ± {number(row.spread)}" if row.spread is not None else ""),
             number(row.paper) if row.paper is not None else "-", row.note] for row in result.rows]
    if rows:
        sections.append("<h2>Ours beside the paper's</h2>" + table(["quantity", "ours", "paper", "note"], rows, "rows"))
    for name in result.figures:
        path = folder / name
        sections.append(f"<h2>{html.escape(name)}</h2>" + (image(path, name) if path.is_file()
                                                           else f"<p>missing: {html.escape(name)}</p>"))
    if result.extra:
        sections.append(f"<h2>Details</h2><pre>{html.escape(json.dumps(result.extra, indent=1))}</pre>")
    return f"{result.name}: {result.paper}", sections


def build_report(folder: str | Path) -> str:
    """The HTML of the report on `folder`: a reproduction (it has results.json) or a training run."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GanforgeError(f"{folder} is not a folder")
    with tempfile.TemporaryDirectory() as tmp:
        if (folder / "results.json").is_file():
            title, sections = repro_sections(folder)
        else:
            title, sections = f"ganforge run {folder.name}", run_sections(folder, Path(tmp))
    return page(title, sections)


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the report on `folder` to `out` (default FOLDER/report.html), atomically; returns its path.
    `out` is checked before the page is built."""
    out = check_file(out if out is not None else Path(folder) / "report.html", (".html",))
    text = build_report(folder)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return out
