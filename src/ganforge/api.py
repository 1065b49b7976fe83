"""Library calls that the command line composes from smaller parts, kept beside the package's API."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .config import RunConfig
from .engine.loop import RunResult
from .generate import class_labels, generate, latents
from .outputs import check_folder, check_run_folder


def sample(G: nn.Module, n: int, seed: int = 0, class_index: int | None = None,
           batch_size: int = 256) -> torch.Tensor:
    """`n` samples of generator `G` (from `load_generator`) for latents seeded by `seed`, on the CPU:
    images `[n, C, H, W]` in [-1, 1] or points `[n, D]`. A class-conditional G gives class `class_index`,
    or every class in turn when it is None (as `ganforge sample` does)."""
    return generate(G, latents(G, n, seed), class_labels(G, n, class_index), batch_size)


@dataclass
class TrainedRun(RunResult):
    report: Path | None = None  # the run's report.html (None on torchrun's ranks other than 0)


def check_training_output(config: RunConfig, run_dir: str | Path | None, resume: str | Path | None) -> None:
    """Before any training: a new run's folder must be new or empty (old pictures would join the new run's
    report; a checkpoint there is a run to --resume), a resumed one must take files, and without either
    the config's out_dir must be a folder that takes new ones."""
    if resume is not None:
        check_folder(resume, "--resume")
    elif run_dir is not None:
        check_run_folder(run_dir)
    else:
        check_folder(config.out_dir, "out_dir")


def train(config: RunConfig, run_dir: str | Path | None = None, label: str = "run",
          resume: str | Path | None = None, progress: bool | None = None, report: bool = True) -> TrainedRun:
    """`runner.train` as `ganforge train` runs it: the output checked before any work, and with `report`
    the run's `report.html` written at the end, its path in the result's `report`."""
    from .report import write_report
    from .runner import train as train_run

    writer = os.environ.get("RANK", "0") == "0"  # torchrun: rank 0 alone looks at and writes the run folder
    if writer:
        check_training_output(config, run_dir, resume)
    result = train_run(config, run_dir=run_dir, label=label, resume=resume, progress=progress)
    page = write_report(result.run_dir) if report and writer else None
    return TrainedRun(**vars(result), report=page)
