"""docs/RESULTS.md: every registered reproduction's latest results (full, GPU runbook, quick) beside the paper's.

Made from the `results.json` files under the repro root (runs/repro/NAME, NAME-gpu and NAME-quick), never
typed by hand; a reproduction without results says "not run". Each result used is kept beside the document
(docs/repro/NAME-full.json, NAME-gpu.json, NAME-quick.json) and its figures are copied, scaled down, to docs/img/repro/, so
the document can be rewritten from git alone when the (git-ignored) runs folder holds no newer result.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from ..fileio import atomic_path
from .base import REPRODUCES, REPROS, TABLE_HEADER, ReproResult, Row, Setting, decide, default_out, load_result, \
    table_text

FIGURE_WIDTH = 720      # pixels: figures are shrunk to this width, so the document stays light in git
# the protocols a result can come from, in the document's order: the CPU's full protocol, the GPU runbook's
# part (benchmarks/gpu_repros.sh; its results are copied to runs/repro/NAME-gpu, docs/gpu.md), the quick one
MODES = {"full": "Full", "gpu": "GPU runbook (its protocol table below)",
         "quick": "Quick (a pipeline check: its numbers are not a finding)"}


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _ours(row: Row | None) -> str:
    if row is None:
        return "-"
    return _cell(row.ours) + (f" ± {_cell(row.spread)}" if row.spread is not None else "")


def _copy_figure(source: Path, target: Path) -> None:
    from PIL import Image

    image = Image.open(source).convert("RGB")
    if image.width > FIGURE_WIDTH:
        image = image.resize((FIGURE_WIDTH, max(1, image.height * FIGURE_WIDTH // image.width)))
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target, format="PNG", optimize=True)


def _table_lines(table: list[Setting]) -> list[str]:
    return ["| " + " | ".join(TABLE_HEADER) + " |", "|" + " --- |" * len(TABLE_HEADER)] + \
        ["| " + " | ".join(_cell(c) for c in cells) + " |" for cells in table_text(table)]


def _section(name: str, results: dict[str, tuple[Path, ReproResult]], doc: Path, images: Path) -> list[str]:
    repro = REPROS.get(name)
    lines = [f"## `{name}`: {repro.paper}", "", repro.doc + ".", ""]
    if not results:
        return lines + [f"Not run (`ganforge repro {name}` or `ganforge repro {name} --quick`).", ""]
    lines += ["| run | verdict | time | machine |", "| --- | --- | --- | --- |"]
    for mode, (_, result) in results.items():
        lines.append(f"| {mode} | **{result.verdict}** | {result.seconds:.0f} s | {_cell(result.device)} |")
    lines.append("")
    if "full" not in results:
        would, declared = declared_verdict(name)
        lines += ["The full protocol was not run. Its protocol table, as the code declares it, would give: "
                  f"**{would}**.", "", *_table_lines(declared), ""]
    for mode, (_, result) in results.items():
        lines += [f"{MODES[mode]}: {result.summary}", "", f"Protocol ({mode}): {result.protocol}", ""]
    judged = [m for m in ("full", "gpu") if m in results] or ["quick"]
    for mode in judged:
        lines += [f"Protocol table ({mode} run): its verdict follows from it.", "",
                  *_table_lines(results[mode][1].table), ""]
    names = list(dict.fromkeys(row.what for _, r in results.values() for row in r.rows))
    if names:
        modes = list(results)
        by_mode = {m: {row.what: row for row in results[m][1].rows} for m in modes}
        lines += ["| quantity | " + " | ".join(f"ours ({m})" for m in modes) + " | paper | note |",
                  "| --- |" + " --- |" * (len(modes) + 2)]
        for what in names:
            rows = [by_mode[m].get(what) for m in modes]
            first = next(r for r in rows if r is not None)
            notes = " / ".join(dict.fromkeys(r.note for r in rows if r is not None and r.note))  # full / quick
            lines.append(f"| {_cell(what)} | " + " | ".join(_ours(r) for r in rows)
                         + f" | {_cell(first.paper)} | {_cell(notes)} |")
        lines.append("")
    for mode in judged:
        folder, result = results[mode]
        for figure in result.figures:
            source, target = folder / figure, images / f"{name}-{mode}-{figure}"
            if source.is_file():
                _copy_figure(source, target)
            if target.is_file():
                lines += [f"![{name} {figure} ({mode})]({Path(os.path.relpath(target, doc.parent)).as_posix()})",
                          ""]
    return lines


def latest_results(name: str, root: Path, kept: Path) -> dict[str, tuple[Path, ReproResult, bool]]:
    """The latest result of each protocol of `name`: from `root` when it ran there, else the copy kept beside
    the document. -> {mode: (folder of its figures, result, whether it came from `root`)}"""
    results = {}
    for mode in MODES:
        folder = root / (f"{name}-gpu" if mode == "gpu" else default_out(name, mode == "quick").name)
        copy = kept / f"{name}-{mode}.json"
        if (folder / "results.json").is_file():
            results[mode] = (folder, load_result(folder), True)
        elif copy.is_file():
            results[mode] = (kept, load_result(copy), False)  # its figures are already beside the document
    return results


def declared_verdict(name: str) -> tuple[str, list[Setting]]:
    """What a full run of `name` would read under the protocol table its code declares (nothing run)."""
    repro = REPROS.get(name)
    table = repro.table(ReproResult(name, repro.paper, "", ""))
    verdict = decide(False, True, table)
    return ("reproduces or does not reproduce, by its criterion" if verdict == REPRODUCES else verdict), table


def repro_statuses(root: str | Path = "runs/repro", doc: str | Path = "docs/RESULTS.md"
                   ) -> list[tuple[str, str, str]]:
    """(name, description, protocol status) of every reproduction: its latest full run's verdict, or what
    its declared protocol table would give."""
    kept = Path(doc).parent / "repro"
    statuses = []
    for name, text in REPROS.describe():
        full = latest_results(name, Path(root), kept).get("full")
        status = f"last full run: {full[1].verdict}" if full else \
            f"full protocol not run; its table would give: {declared_verdict(name)[0]}"
        statuses.append((name, text, status))
    return statuses


def write_results_doc(root: str | Path = "runs/repro", doc: str | Path = "docs/RESULTS.md") -> Path:
    """Write `doc` from the results under `root` and those kept beside `doc` (`repro/`); figures go to
    `img/repro/` beside it."""
    root, doc = Path(root), Path(doc)
    images, kept = doc.parent / "img" / "repro", doc.parent / "repro"
    lines = ["# Reproductions", "",
             "Generated by `ganforge repro --all` (or `ganforge repro --results`, which runs nothing) from the "
             "`results.json` of each reproduction "
             "(`ganforge repro NAME` for the full protocol, `--quick` for the reduced one used by the tests, "
             "`gpu`: the GPU runbook's part, docs/gpu.md), "
             "or, for a reproduction not run since, the copy kept in `docs/repro/`. "
             "Each full run carries a protocol table: the paper's setting (with where the paper states it) beside "
             "ours, same / reduced / differs / unknown (the paper states none). The verdict follows from it: "
             "*protocol differs* when any row differs; *not run in full (N%)* when a reduced row is short of "
             "where the paper shows its effect; only otherwise *reproduces* or *does not reproduce*. "
             "A quick run never claims a verdict: it checks the pipeline, not the paper. Times are wall-clock "
             "seconds on the machine named, which may have been shared with other work; a grid that continued an "
             "earlier call (its scored runs are kept) counts only the last call's time.", ""]
    for name in sorted(REPROS.names()):
        results = latest_results(name, root, kept)
        for mode, (_, result, fresh) in results.items():
            if fresh:  # kept beside the document, so it can be rewritten without the runs folder
                kept.mkdir(parents=True, exist_ok=True)
                with atomic_path(kept / f"{name}-{mode}.json") as tmp:
                    Path(tmp).write_text(json.dumps(asdict(result), indent=1))
        lines += _section(name, {mode: (folder, result) for mode, (folder, result, _) in results.items()}, doc,
                          images)
    shown = {line.split("](")[1].rstrip(")") for line in lines if line.startswith("![")}
    for old in images.glob("*.png"):  # the folder is this document's alone: no figure outlives its result
        if Path(os.path.relpath(old, doc.parent)).as_posix() not in shown:
            old.unlink()
    doc.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(doc) as tmp:
        Path(tmp).write_text("\n".join(lines))
    return doc
