"""What several reproductions share: bundled presets, quiet training overrides, and ablation grids as rows."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..ablation import Summary, Variant, run_ablation
from ..config import load_config
from .base import Row

QUIET = ("train.progress=false", "train.tensorboard=false")


def bundled(preset: str) -> Path:
    """The YAML file of a preset shipped with ganforge (`gan1d`, `toy_ring`, `dcgan_fashion`...)."""
    return Path(str(resources.files("ganforge") / "configs" / f"{preset}.yaml"))


def run_grid(out: Path, preset: str, overrides: list[str], variants: dict[str, str], seeds: int, metrics: str,
             n: int) -> Summary:
    """`ganforge ablate PRESET OVERRIDES --variant "NAME: ..." ...` into `out` (ablation.png, ablation.md)."""
    grid = [Variant(name, tuple(text.split())) for name, text in variants.items()]
    command = "ganforge ablate " + " ".join([preset, *overrides] + [f'--variant "{v.name}: {" ".join(v.overrides)}"'
                                                                     for v in grid])
    return run_ablation(bundled(preset), [*QUIET, *overrides], grid, seeds, out, metrics=metrics, n=n,
                        progress=False, command=f"{command} --seeds {seeds} --metrics {metrics} --n {n}")


def grid_rows(summary: Summary, keys: list[str], paper: dict[tuple[str, str], float | str] | None = None,
              ) -> list[Row]:
    """One row per (variant, result key): the mean over seeds, its standard deviation as the spread. Keys the
    runs did not score (a quick protocol computes fewer metrics) are left out."""
    paper = paper or {}
    rows = []
    for variant in summary.variants:
        seeds = variant["seeds"]
        for key in (k for k in keys if k in variant["mean"]):
            rows.append(Row(f"{variant['name']}: {key}", variant["mean"][key], paper.get((variant["name"], key)),
                            variant["std"][key] if seeds > 1 else None,
                            f"mean ± std over {seeds} seeds" if seeds > 1 else "1 seed"))
    return rows


def mean_of(summary: Summary, variant: str, key: str) -> float:
    return next(v["mean"][key] for v in summary.variants if v["name"] == variant)


def preset_value(preset: str, overrides: list[str], key: str):
    """The value of dotted `key` (e.g. "train.steps") in `preset` under `overrides`: what a grid run used."""
    value = load_config(bundled(preset), list(overrides))
    for part in key.split("."):
        value = getattr(value, part)
    return value
