"""The one entry point for a configured training run.

The engine's loop knows nothing of metrics (they sit above it), so this module joins the two: it trains
with the periodic evaluation and best-checkpoint rule that `config.eval` asks for. The CLI, ablations, the
demo, reproductions, benchmarks and the Python API all train through `train`, so `eval.*` means the same
everywhere.
"""
from __future__ import annotations

from pathlib import Path

from .config import RunConfig
from .engine.loop import Evaluation, RunResult
from .engine.loop import train as train_loop
from .evaluation import training_evaluator
from .metrics import higher_is_better


def train(config: RunConfig, run_dir: str | Path | None = None, label: str = "run",
          resume: str | Path | None = None, progress: bool | None = None) -> RunResult:
    """Train as `config` says (see `engine.loop.train` for `run_dir`, `resume` and `progress`), evaluating
    every `config.eval.every` steps and keeping `best.pt` by `config.eval.best` in the metric's own
    direction (larger is better for precision, recall, class_match...; smaller for distances)."""
    evaluator = training_evaluator(config)
    evaluation = Evaluation(evaluator, higher_is_better) if evaluator is not None else None
    return train_loop(config, run_dir=run_dir, label=label, resume=resume, progress=progress,
                      evaluation=evaluation)
