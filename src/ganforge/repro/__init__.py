"""Reproductions of the seed papers' experiments: `ganforge repro NAME [--quick]`.

Each reproduction is one module that registers a function `(out_dir, quick) -> ReproResult`. The function
trains and measures what the paper measured, writes its figures into `out_dir`, and returns its numbers
beside the paper's with a one-line verdict; `run_repro` adds timing and the machine, and writes
`results.json`. `quick` is a reduced protocol (under a minute on 2 CPU cores) used by the tests; the full
protocol is the paper's own, as far as it is known.
"""
from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ..registry import Registry

REPRODUCES = "reproduces"
DOES_NOT = "does not reproduce at this protocol"
NOT_IN_FULL = "not run in full"
VERDICTS = (REPRODUCES, DOES_NOT, NOT_IN_FULL)


@dataclass
class Row:
    """One measured quantity: ours beside the paper's (None where the paper gives none)."""

    what: str
    ours: float | str
    paper: float | str | None = None
    spread: float | None = None     # standard error or standard deviation of `ours`, as `note` says
    note: str = ""


@dataclass
class ReproResult:
    name: str
    paper: str                      # citation, e.g. "Goodfellow et al. 2014, Table 1"
    protocol: str                   # what ran, in words (iterations, seeds, data, what differs from the paper)
    verdict: str                    # one of VERDICTS
    summary: str                    # a few sentences: what the numbers say
    rows: list[Row] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)   # PNG files in the output folder, by name
    quick: bool = False
    seconds: float = 0.0
    device: str = ""
    extra: dict = field(default_factory=dict)          # anything else worth keeping (curves, per-seed values)


@dataclass(frozen=True)
class Repro:
    run: Callable[[Path, bool], ReproResult]
    paper: str
    doc: str


REPROS: Registry = Registry("repro")


def register_repro(name: str, paper: str, doc: str):
    def add(run: Callable[[Path, bool], ReproResult]) -> Callable[[Path, bool], ReproResult]:
        REPROS.register(name, help=doc)(Repro(run, paper, doc))
        return run

    return add


def judge(quick: bool, reproduces: bool) -> str:
    """The verdict: a reduced (`quick`) protocol never claims either way, whatever its numbers say."""
    if quick:
        return NOT_IN_FULL
    return REPRODUCES if reproduces else DOES_NOT


def default_out(name: str, quick: bool) -> Path:
    """Where `ganforge repro NAME` writes by default: runs/repro/NAME, or runs/repro/NAME-quick."""
    return Path("runs") / "repro" / (f"{name}-quick" if quick else name)


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def run_repro(name: str, out: str | Path, quick: bool = False) -> ReproResult:
    """Run reproduction `name` into `out` and write `out/results.json`."""
    repro: Repro = REPROS.get(name)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = repro.run(out, quick)
    if result.verdict not in VERDICTS:
        raise ValueError(f"repro {name} returned verdict {result.verdict!r}, not one of {VERDICTS}")
    result.quick, result.seconds, result.device = quick, round(time.perf_counter() - start, 1), device_name()
    (out / "results.json").write_text(json.dumps(asdict(result), indent=1))
    return result


def load_result(out: str | Path) -> ReproResult:
    """A finished reproduction's `results.json`, as a `ReproResult`."""
    raw = json.loads((Path(out) / "results.json").read_text())
    raw["rows"] = [Row(**row) for row in raw.get("rows", [])]
    return ReproResult(**raw)


# The registered reproductions: one module each. Keep this list the only place they are imported.
from . import (dcgan_features, dcgan_latent, gan1d, gan_parzen, mode_collapse, pacgan, pggan,  # noqa: E402,F401
               sngan_stability, tips)
