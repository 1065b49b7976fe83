"""What every reproduction shares: its result, its protocol table, the verdict rule and the registry.

Reproduction modules import this one; the package imports them (for registration), so imports point one way.
"""
from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ..errors import ConfigError
from ..registry import Registry

REPRODUCES = "reproduces"
DOES_NOT = "does not reproduce"
PROTOCOL_DIFFERS = "protocol differs"
NOT_IN_FULL = "not run in full"          # followed by "(N% of the paper's length)"
QUICK = "quick run: claims nothing"

SAME, REDUCED, DIFFERS, UNKNOWN = "same", "reduced", "differs", "unknown"
STATUSES = (SAME, REDUCED, DIFFERS, UNKNOWN)   # UNKNOWN: the paper states no value (or none we could check)
NOT_STATED = "not stated"


@dataclass
class Row:
    """One measured quantity: ours beside the paper's (None where the paper gives none)."""

    what: str
    ours: float | str
    paper: float | str | None = None
    spread: float | None = None     # standard error or standard deviation of `ours`, as `note` says
    note: str = ""


@dataclass
class Setting:
    """One row of a protocol table: a setting the claim depends on, the paper's and ours.

    A REDUCED row gives `fraction` (ours / the paper's) and, where the paper shows when its effect appears,
    `effect_at` (that point as a fraction of the paper's length); without it the whole length is needed."""

    what: str                       # data, architecture, loss, optimiser, batch, length, seeds, metric, ...
    paper: str                      # the paper's value, or NOT_STATED
    source: str                     # where the paper states it (section, table, appendix); "" if not stated
    ours: str
    status: str                     # one of STATUSES
    why: str = ""                   # for DIFFERS / REDUCED: what and why (e.g. "no CIFAR-10 offline")
    fraction: float | None = None
    effect_at: float | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"protocol row {self.what!r}: status {self.status!r} is not one of {STATUSES}")
        if self.status == REDUCED and not (self.fraction is not None and 0 <= self.fraction < 1):
            raise ValueError(f"protocol row {self.what!r} is reduced: give its fraction of the paper's, in [0, 1)")


def amount(what: str, paper: str, source: str, ours: str, ours_amount: float, paper_amount: float,
           effect_at: float | None = None, why: str = "") -> Setting:
    """A row for a countable setting (steps, seeds, images): SAME at or above the paper's amount, else REDUCED
    with its fraction; `effect_at` is where the paper shows its effect, as a fraction of its amount."""
    if ours_amount >= paper_amount:
        return Setting(what, paper, source, ours, SAME)
    return Setting(what, paper, source, ours, REDUCED, why, ours_amount / paper_amount, effect_at)


@dataclass
class ReproResult:
    name: str
    paper: str                      # citation, e.g. "Goodfellow et al. 2014, Table 1"
    protocol: str                   # what ran, in words (iterations, seeds, data)
    summary: str                    # a few sentences: what the numbers say
    holds: bool | None = None       # did the reproduction's criterion hold on these numbers (None: not judged)
    verdict: str = ""               # set by `decide` from `table`, `holds` and `quick`
    rows: list[Row] = field(default_factory=list)
    table: list[Setting] = field(default_factory=list)  # the protocol, row by row: see `Setting`
    figures: list[str] = field(default_factory=list)   # PNG files in the output folder, by name
    quick: bool = False
    seconds: float = 0.0
    device: str = ""
    extra: dict = field(default_factory=dict)          # settings it ran with, curves, per-seed values


Run = Callable[[Path, bool, "float | None"], ReproResult]
Table = Callable[[ReproResult], "list[Setting]"]


@dataclass(frozen=True)
class Repro:
    run: Run
    table: Table
    paper: str
    doc: str
    budget: float | None = None     # default seconds of training of the full protocol; None: takes no budget


REPROS: Registry = Registry("repro")


def register_repro(name: str, paper: str, doc: str, table: Table, budget: float | None = None):
    def add(run: Run) -> Run:
        REPROS.register(name, help=doc)(Repro(run, table, paper, doc, budget))
        return run

    return add


def percent(fraction: float) -> str:
    return f"{100 * fraction:.2g}%"


def decide(quick: bool, holds: bool | None, table: list[Setting]) -> str:
    """The verdict, from the protocol table: a quick run claims nothing; any row that differs gives
    PROTOCOL_DIFFERS; a reduced row short of where the paper shows its effect gives NOT_IN_FULL with the
    fraction; only then does the criterion (`holds`) say REPRODUCES or DOES_NOT."""
    if quick:
        return QUICK
    if not table:
        raise ValueError("a full run needs its protocol table to be judged")
    if any(row.status == DIFFERS for row in table):
        return PROTOCOL_DIFFERS
    short = [row for row in table if row.status == REDUCED
             and row.fraction < (row.effect_at if row.effect_at is not None else 1.0)]
    if short:
        row = min(short, key=lambda r: r.fraction)
        return f"{NOT_IN_FULL} ({percent(row.fraction)} of the paper's {row.what})"
    if holds is None:
        raise ValueError("a full run under the paper's protocol must say whether its criterion held")
    return REPRODUCES if holds else DOES_NOT


def why_not(table: list[Setting]) -> str:
    """The rows that keep a verdict from the claim, with why: "" when none."""
    rows = [row for row in table if row.status == DIFFERS or (
        row.status == REDUCED and row.fraction < (row.effect_at if row.effect_at is not None else 1.0))]
    return "; ".join(f"{row.what} ({row.why or row.ours})" for row in rows)


NO_CLAIM = "No verdict on the paper's claim, because of these rows of the protocol table: "


def judge_result(result: ReproResult, table: Table) -> ReproResult:
    """Fill `result.table` (unless it holds one), set its verdict by `decide`, and open the summary of a full
    run that cannot claim with the rows that keep it from claiming."""
    if not result.table:
        result.table = table(result)
    result.verdict = decide(result.quick, result.holds, result.table)
    why = why_not(result.table)
    if not result.quick and why and not result.summary.startswith(NO_CLAIM):
        result.summary = f"{NO_CLAIM}{why}. {result.summary}"
    return result


def default_out(name: str, quick: bool) -> Path:
    """Where `ganforge repro NAME` writes by default: runs/repro/NAME, or runs/repro/NAME-quick."""
    return Path("runs") / "repro" / (f"{name}-quick" if quick else name)


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def run_repro(name: str, out: str | Path, quick: bool = False, budget: float | None = None) -> ReproResult:
    """Run reproduction `name` into `out` (measure), judge it by its protocol table, write `out/results.json`.
    `budget`: seconds of training, for the reproductions that take one (see `ganforge repro --list`)."""
    repro: Repro = REPROS.get(name)
    if budget is not None and (repro.budget is None or quick):
        raise ConfigError(f"--budget applies to the full protocol of {', '.join(budgeted())}; not to {name}"
                          + (" --quick" if quick and repro.budget is not None else ""))
    if budget is not None and budget < 0:
        raise ConfigError(f"--budget must be at least 0 seconds, got {budget:g}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = repro.run(out, quick, repro.budget if budget is None else budget)
    result.quick, result.seconds, result.device = quick, round(time.perf_counter() - start, 1), device_name()
    judge_result(result, repro.table)
    (out / "results.json").write_text(json.dumps(asdict(result), indent=1))
    return result


def budgeted() -> list[str]:
    return [name for name in REPROS.names() if REPROS.get(name).budget is not None]


# results.json written before the protocol tables: their verdict strings, and whether each said the criterion held
_LEGACY_HOLDS = {"reproduces": True, "does not reproduce at this protocol": False}


def load_result(out: str | Path) -> ReproResult:
    """A finished reproduction's `results.json` (`out` is its folder, or the JSON file itself), as a
    `ReproResult`. One written before protocol tables is judged again here: its table from the module's
    declared protocol and the settings it recorded."""
    path = Path(out)
    raw = json.loads((path if path.suffix == ".json" else path / "results.json").read_text())
    raw["rows"] = [Row(**row) for row in raw.get("rows", [])]
    legacy = "table" not in raw
    if legacy:
        raw["holds"] = _LEGACY_HOLDS.get(raw.get("verdict"))
    raw["table"] = [Setting(**row) for row in raw.get("table", [])]
    result = ReproResult(**raw)
    if legacy and raw["name"] in REPROS:
        judge_result(result, REPROS.get(raw["name"]).table)
    return result


def table_text(table: list[Setting]) -> list[list[str]]:
    """The table's cells, one list per row: setting, paper, where stated, ours, status (with why)."""
    cells = []
    for row in table:
        status = row.status
        if row.fraction is not None:
            status += f" ({percent(row.fraction)}" + (f"; the paper's effect by {percent(row.effect_at)}"
                                                      if row.effect_at is not None else "") + ")"
        why = f": {row.why}" if row.why and row.status in (DIFFERS, REDUCED) else ""
        cells.append([row.what, row.paper, row.source or "-", row.ours, status + why])
    return cells


TABLE_HEADER = ["setting", "paper", "where the paper says", "ours", "status"]
