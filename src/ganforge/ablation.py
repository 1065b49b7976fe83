"""Ablations: one config trained under several sets of switches and seeds, then compared in one table.

Each (variant, seed) run has its own directory `OUT/<variant>/seed<S>` holding the usual run files and, once
scored, `result.json`. A grid that was interrupted continues where it stopped: scored runs are skipped, a run
with a checkpoint is resumed. The summary gives each result's mean and standard deviation over seeds, as
`ablation.md` and `ablation.json`, and `ablation.png` shows each variant's samples over training.

On a cluster the grid needs no scheduler of ours: `train_commands` lists one `ganforge train` command per
run still to do (a SLURM array, GNU parallel or any scheduler runs them), and `summarise_ablation` then
scores the finished folders and builds the same table.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import shlex
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .config import RunConfig, dump_yaml, load_config
from .data.toy import TOY_SAMPLES, is_toy
from .errors import ConfigError, TrainingDiverged
from .fileio import atomic_path

SNAPSHOTS = 6  # sample pictures per row of ablation.png


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: tuple[str, ...]

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", self.name).strip("_") or "base"


@dataclass
class Job:
    variant: Variant
    seed: int
    config: RunConfig
    run_dir: Path


@dataclass
class Summary:
    variants: list[dict] = field(default_factory=list)  # name, overrides, seeds, mean, std, runs


def parse_grid(vary: list[str] = (), variants: list[str] = ()) -> list[Variant]:
    """`--variant "NAME: k=v k2=v2"` sets times the product of `--vary k=v1,v2` lists."""
    named = []
    for text in variants:
        name, sep, rest = text.partition(":")
        if not sep or not name.strip():
            raise ConfigError(f"--variant {text!r} must look like 'NAME: key=value ...'")
        named.append(Variant(name.strip(), tuple(rest.split())))
    axes = []
    for text in vary:
        key, sep, values = text.partition("=")
        options = [v for v in values.split(",") if v != ""]
        if not sep or not key.strip() or not options:
            raise ConfigError(f"--vary {text!r} must look like key=value1,value2")
        axes.append([f"{key.strip()}={v}" for v in options])
    product = [Variant(", ".join(c), tuple(c)) for c in itertools.product(*axes)] if axes else []
    if named and product:
        return [Variant(f"{a.name}, {b.name}", a.overrides + b.overrides) for a in named for b in product]
    return named or product or [Variant("base", ())]


def run_overrides(overrides: list[str], variant: Variant, seed: int) -> list[str]:
    """The overrides of one run of the grid, in the order they apply."""
    return [*overrides, *variant.overrides, f"seed={seed}", "train.progress=false"]


def plan(config_path: str | Path, overrides: list[str], grid: list[Variant], seeds: int, out: Path) -> list[Job]:
    """Every run of the grid with its validated config; raises before anything is created."""
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    if len({v.slug for v in grid}) != len(grid):
        raise ConfigError("two variants have the same name; give each --variant its own NAME")
    jobs = []
    for variant in grid:
        for seed in range(seeds):
            config = load_config(config_path, run_overrides(overrides, variant, seed))
            jobs.append(Job(variant, seed, config, out / variant.slug / f"seed{seed}"))
    for job in jobs:
        stored = job.run_dir / "config.yaml"
        if stored.is_file() and stored.read_text() != dump_yaml(job.config):
            raise ConfigError(f"{job.run_dir} holds a different run; choose another --out")
    return jobs


DIVERGED = "diverged.json"  # in a run's folder: the run diverged (see `train_guarded`)


def trained_steps(job: Job) -> int:
    """Steps the run's checkpoint holds; 0 when it has none."""
    from .engine.checkpoint import load_checkpoint
    from .engine.loop import CHECKPOINT

    checkpoint = job.run_dir / CHECKPOINT
    return int(load_checkpoint(checkpoint)["step"]) if checkpoint.is_file() else 0


def train_job(job: Job) -> None:
    """Train (or resume) one run, unless it was scored (`result.json`) or holds all its steps."""
    from .runner import train

    if (job.run_dir / "result.json").is_file():
        return
    steps = trained_steps(job)
    if steps == 0:
        train(job.config, run_dir=job.run_dir)
    elif steps < job.config.train.steps:
        train(job.config, resume=job.run_dir)


def train_guarded(job: Job) -> bool:
    """`train_job` with divergence as a result, not an error that stops a grid: False when the run diverged,
    now or in an earlier call (`diverged.json` keeps why and the checkpoint's step, so a rerun skips it)."""
    marker = job.run_dir / DIVERGED
    if marker.is_file():
        return False
    try:
        train_job(job)
    except TrainingDiverged as stop:
        with atomic_path(marker) as tmp:
            Path(tmp).write_text(json.dumps({"message": str(stop), "checkpoint_step": trained_steps(job)}))
        return False
    return True


def run_job(job: Job, metrics: str, n: int, threads: int = 0) -> dict[str, float]:
    """Train (or resume) one run and score it; `result.json` marks it done."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    train_job(job)
    return score_job(job, metrics, n)


def score_job(job: Job, metrics: str, n: int) -> dict[str, float]:
    """The result of a trained run: `result.json` when it was scored, else scored now and written there."""
    from .engine.loop import CHECKPOINT
    from .evaluation import evaluate_checkpoint

    result_file = job.run_dir / "result.json"
    if result_file.is_file():
        return json.loads(result_file.read_text())
    results = evaluate_checkpoint(job.run_dir / CHECKPOINT, metrics, n=n, progress=False)
    with atomic_path(result_file) as tmp:
        Path(tmp).write_text(json.dumps(results, indent=1))
    return results


def train_commands(config_path: str | Path, overrides: list[str], grid: list[Variant], seeds: int,
                   out: str | Path, shown: str | None = None, program: str = "ganforge") -> list[str]:
    """One shell command per run still to train: `PROGRAM train CONFIG ... --out OUT/<variant>/seed<S>` for a
    run not begun, `PROGRAM train --resume RUN` for one with a checkpoint short of `train.steps`; finished
    runs are left out. CONFIG is `shown` (the preset name or path as the user gave it) or `config_path`;
    each command builds exactly the config the grid gives that run."""
    config = shown or str(config_path)
    commands = []
    for job in plan(config_path, overrides, grid, seeds, Path(out)):
        steps = trained_steps(job)
        if steps >= job.config.train.steps:
            continue
        if steps:
            words = [program, "train", "--resume", str(job.run_dir)]
        else:
            words = [program, "train", config, *run_overrides(overrides, job.variant, job.seed), "--out",
                     str(job.run_dir)]
        commands.append(shlex.join(words))
    return commands


def summarise_ablation(config_path: str | Path, overrides: list[str], grid: list[Variant], seeds: int,
                       out: str | Path, metrics: str = "", n: int | None = None, command: str = "") -> Summary:
    """The grid's table from run folders trained elsewhere (see `train_commands`): scores each finished run
    not yet scored, and refuses, naming them, while any run is unfinished."""
    out = Path(out)
    work = plan(config_path, overrides, grid, seeds, out)
    unfinished = []
    for job in work:
        if (job.run_dir / "result.json").is_file():
            continue
        steps = trained_steps(job)
        if steps < job.config.train.steps:
            unfinished.append(f"{job.run_dir} ({f'step {steps} of {job.config.train.steps}' if steps else 'not started'})")
    if unfinished:
        raise ConfigError(f"{len(unfinished)} of {len(work)} runs are not finished: {', '.join(unfinished[:5])}"
                          f"{' ...' if len(unfinished) > 5 else ''}; run them (--print-commands lists them)")
    n = n or default_n(work[0].config)
    results = {(job.variant.name, job.seed): score_job(job, metrics, n) for job in work}
    return _finish(grid, seeds, results, out, command)


def default_n(config: RunConfig) -> int:
    return TOY_SAMPLES if is_toy(config.data.name) else 5000


def run_ablation(config_path: str | Path, overrides: list[str], grid: list[Variant], seeds: int, out: str | Path,
                 metrics: str = "", n: int | None = None, jobs: int = 1, progress: bool = True,
                 command: str = "") -> Summary:
    """Train and score the grid (`command`, the invocation, is recorded in ablation.md)."""
    out = Path(out)
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    work = plan(config_path, overrides, grid, seeds, out)
    n = n or default_n(work[0].config)
    results: dict[tuple[str, int], dict] = {}
    with tqdm(total=len(work), desc="ablation", unit="run", disable=not progress) as bar:
        if jobs == 1:
            for job in work:
                results[job.variant.name, job.seed] = run_job(job, metrics, n)
                bar.update(1)
        else:
            threads = max(1, (os.cpu_count() or 1) // jobs)
            with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(run_job, job, metrics, n, threads): job for job in work}
                for future in as_completed(futures):  # the bar follows runs as they finish
                    job = futures[future]
                    results[job.variant.name, job.seed] = future.result()
                    bar.update(1)
    return _finish(grid, seeds, results, out, command)


def _finish(grid: list[Variant], seeds: int, results: dict[tuple[str, int], dict], out: Path,
            command: str) -> Summary:
    summary = summarise(grid, seeds, results)
    save_summary(summary, out, command)
    save_comparison_picture(grid, out)
    return summary


def summarise(grid: list[Variant], seeds: int, results: dict[tuple[str, int], dict]) -> Summary:
    summary = Summary()
    for variant in grid:
        runs = [results[variant.name, s] for s in range(seeds)]
        keys = list(runs[0])
        values = {k: np.array([r[k] for r in runs], dtype=float) for k in keys}
        with np.errstate(invalid="ignore"):  # inf results (e.g. reverse KL of no good sample) give nan spreads
            std = {k: float(v.std(ddof=1)) if seeds > 1 else 0.0 for k, v in values.items()}
        summary.variants.append({
            "name": variant.name, "overrides": list(variant.overrides), "seeds": seeds,
            "mean": {k: float(v.mean()) for k, v in values.items()},
            "std": std,
            "runs": runs,
        })
    return summary


def format_table(summary: Summary) -> str:
    """Markdown: one row per variant, `mean ± std` over seeds in each column."""
    keys = list(dict.fromkeys(k for row in summary.variants for k in row["mean"]))  # variants may differ
    lines = ["| variant | " + " | ".join(keys) + " |", "| --- |" + " --- |" * len(keys)]
    for row in summary.variants:
        cells = [f"{row['mean'][k]:.3g} ± {row['std'][k]:.3g}" if k in row["mean"] else "-" for k in keys]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save_summary(summary: Summary, out: Path, command: str = "") -> None:
    seeds = summary.variants[0]["seeds"]
    made_by = f"`{command}`\n\n" if command else ""
    text = f"{made_by}Mean ± standard deviation over {seeds} seed(s).\n\n{format_table(summary)}\n"
    with atomic_path(out / "ablation.md") as tmp:
        Path(tmp).write_text(text)
    with atomic_path(out / "ablation.json") as tmp:
        Path(tmp).write_text(json.dumps({"variants": summary.variants}, indent=1))


def _snapshots(run_dir: Path) -> list[Path]:
    """Up to SNAPSHOTS sample pictures of a run, evenly spread over training, the last one included."""
    pictures = sorted((run_dir / "samples").glob("step_*.png"))
    if len(pictures) <= SNAPSHOTS:
        return pictures
    index = np.linspace(0, len(pictures) - 1, SNAPSHOTS).round().astype(int)
    return [pictures[i] for i in sorted(set(index))]


def _scaled(image, height: int):
    """`image` resized to `height`, keeping its aspect ratio."""
    return image.resize((max(1, image.width * height // image.height), height))


def save_comparison_picture(grid: list[Variant], out: Path, height: int = 220) -> Path:
    """ablation.png: a row per variant (its seed-0 run), its sample pictures over training left to right."""
    from PIL import Image, ImageDraw

    rows = [(v.name, _snapshots(out / v.slug / "seed0")) for v in grid]
    label_width, caption = 160, 16
    scaled = [[_scaled(Image.open(path).convert("RGB"), height) for path in pictures] for _, pictures in rows]
    cell = max((image.width for images in scaled for image in images), default=height)
    columns = max((len(images) for images in scaled), default=1) or 1
    canvas = Image.new("RGB", (label_width + columns * cell, len(rows) * (height + caption)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (name, pictures) in enumerate(rows):
        top = r * (height + caption)
        draw.text((4, top + height // 2), name[:26], fill="black")
        for c, (path, image) in enumerate(zip(pictures, scaled[r])):
            left = label_width + c * cell
            canvas.paste(image, (left, top + caption))
            draw.text((left + 4, top + 2), f"step {int(path.stem.split('_')[-1])}", fill="black")
    path = out / "ablation.png"
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")
    return path
