"""The training loop: schedules steps, logging, pictures and checkpoints for one run directory.

A run directory holds `config.yaml` (the resolved config), `log.jsonl` (one record per `log_every` steps),
`samples/step_NNNNNNN.png`, `checkpoint.pt` and, when tensorboard is installed, `tensorboard/`. Nothing is
created until the config, data and models have all been checked, so bad input leaves no half-made run.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from typing import Callable

import torch
from torch import nn
from tqdm import tqdm

from .. import viz
from ..config import RunConfig, config_warnings, dump_yaml, load_config, to_dict
from ..data import build_dataset
from ..errors import ConfigError, GanforgeWarning, Interrupted, TrainingDiverged
from ..models import class_count, discriminator_probability
from .checkpoint import load_checkpoint, resolve_checkpoint, save_checkpoint
from .stats import RunLog, append_jsonl, first_non_finite, rewind_jsonl
from .training import Training, pick_device

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
METRICS_LOG = "metrics.jsonl"
Evaluator = Callable[[nn.Module, nn.Module], dict[str, float]]  # (G to sample, D) -> results


@dataclass
class RunResult:
    run_dir: Path
    checkpoint: Path
    picture: Path
    steps: int
    images_per_second: float  # real images shown to D per second of training, I/O excluded


def new_run_dir(config: RunConfig, label: str) -> Path:
    base = Path(config.out_dir) / f"{label}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def save_picture(training: Training, path: Path) -> Path:
    """Image grid of the fixed latents, or for toy data a plot of generated against real points."""
    samples = training.samples()
    title = f"step {training.step}"
    if training.dataset.is_image:
        return viz.save_image_grid(samples, path, nrow=class_count(training.G) or None)
    real = training.dataset.samples[:len(samples)].cpu()
    if samples.shape[1] == 1:
        return viz.save_density_1d(samples, path, real=real, discriminator=discriminator_probability(training.D),
                                   title=title)
    return viz.save_points(samples, path, real=real, title=title)


def save_stage_picture(training: Training, run_dir: Path, stage: int) -> Path:
    """At the end of a growing stage: its sample grid, `samples/stage_RxR.png`, and `growth.png`, every
    finished stage's grid side by side, so the run shows how it grew."""
    resolution = 4 * 2 ** stage
    path = save_picture(training, run_dir / "samples" / f"stage_{resolution}x{resolution}.png")
    stages = sorted(run_dir.glob("samples/stage_*.png"), key=lambda p: int(p.stem.split("_")[1].split("x")[0]))
    viz.join_pictures(stages, run_dir / "growth.png", [p.stem.split("_")[1] for p in stages])
    return path


def _weights_finite(training: Training) -> bool:
    return all(torch.isfinite(p).all() for p in training.G.parameters()) and all(
        torch.isfinite(p).all() for p in training.D.parameters())


def train(config: RunConfig, run_dir: str | Path | None = None, label: str = "run",
          resume: str | Path | None = None, progress: bool | None = None,
          evaluator: Evaluator | None = None, better: Callable[[str], bool] | None = None) -> RunResult:
    """Train a GAN as `config` says, in `run_dir` (default: a new dated folder under `config.out_dir`).

    With `resume` (a run directory), continue from its checkpoint up to `config.train.steps`. With an
    `evaluator`, results every `config.eval.every` steps go to `metrics.jsonl`, and when `config.eval.best`
    names a result key, `best.pt` keeps the checkpoint where it was best (`better(key)`: larger is better).
    """
    for message in config_warnings(config):
        warnings.warn(message, GanforgeWarning, stacklevel=2)
    state = None
    if resume is None and run_dir is not None and (Path(run_dir) / CHECKPOINT).exists():
        raise ConfigError(f"{run_dir} already holds a run; continue it with `ganforge train --resume {run_dir}` "
                          f"or choose another --out")
    if resume is not None:
        run_dir = Path(resume)
        state = load_checkpoint(resolve_checkpoint(run_dir))
    dataset = build_dataset(config.data)
    device = pick_device(config.train.device)
    training = Training(config, dataset, device)
    if state is not None:
        training.load_state_dict(state, str(run_dir))
        if training.step >= config.train.steps:
            raise ConfigError(f"{run_dir} is already at step {training.step}; pass train.steps=N with N > "
                              f"{training.step} to continue it")
    run_dir = Path(run_dir) if run_dir is not None else new_run_dir(config, label)
    (run_dir / "samples").mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(dump_yaml(config))
    return _run(training, run_dir, config.train.progress if progress is None else progress, evaluator,
                better or (lambda key: False))


def _evaluate(training: Training, evaluator: Evaluator, better: Callable[[str], bool], run_dir: Path) -> None:
    """Run the evaluator, log its results, and keep `best.pt` when `eval.best` improved."""
    results = evaluator(training.sampler, training.D)
    record = {"step": training.step, **results}
    append_jsonl(run_dir / METRICS_LOG, record)
    key = training.config.eval.best
    if not key:
        return
    if key not in results:
        raise ConfigError(f"eval.best is {key!r}, but the evaluation gave only {', '.join(results)}")
    value = results[key]
    old = training.best
    if old is None or (value > old["value"] if better(key) else value < old["value"]):
        training.best = {"key": key, "value": value, "step": training.step}
        save_checkpoint(run_dir / BEST, _payload(training))


def _run(training: Training, run_dir: Path, progress: bool, evaluator: Evaluator | None,
         better: Callable[[str], bool]) -> RunResult:
    cfg = training.config.train
    eval_every = training.config.eval.every
    log = RunLog(run_dir, cfg.tensorboard)
    checkpoint_path = run_dir / CHECKPOINT
    picture = run_dir / "samples" / f"step_{training.step:07d}.png"
    io_seconds, io_total = 0.0, 0.0
    earlier = rewind_jsonl(log.path, training.step)
    rewind_jsonl(run_dir / METRICS_LOG, training.step)
    time_before = earlier[-1].get("time", 0.0) if earlier else 0.0  # `time` counts every session of the run
    run_start = interval_start = time.perf_counter()
    interval_steps = interval_images = images_done = 0
    bar = tqdm(total=cfg.steps, initial=training.step, disable=not progress, unit="step", dynamic_ncols=True)

    def flush() -> None:
        nonlocal interval_start, interval_steps, interval_images, io_seconds
        training.report_state()
        record = training.stats.collect()
        now = time.perf_counter()
        busy = now - interval_start - io_seconds
        if record.get("loss/g"):  # balance of the two players (Goodfellow 2016, section 5.1)
            record["loss/d_over_g"] = record["loss/d"] / record["loss/g"]
        record.update(step=training.step, time=time_before + now - run_start,
                      images_per_second=interval_images / max(busy, 1e-9))
        interval_start, interval_steps, interval_images, io_seconds = now, 0, 0, 0.0
        log.write(record)
        bad = first_non_finite(record)
        if bad is not None or not _weights_finite(training):
            what = f"{bad} became {record[bad]}" if bad else "a weight became NaN or infinite"
            kept = f"last good checkpoint {checkpoint_path}" if checkpoint_path.exists() else "no checkpoint"
            raise TrainingDiverged(f"training diverged by step {training.step}: {what}; {kept} is kept")
        bar.set_postfix({"d": f"{record.get('loss/d', float('nan')):.3f}",
                         "g": f"{record.get('loss/g', float('nan')):.3f}"})

    try:
        while training.step < cfg.steps:
            stage = training.growth[0]
            phase = training.train_step()
            interval_steps += 1
            interval_images += phase.images
            images_done += phase.images
            bar.update(1)
            out_of_time = cfg.time_limit > 0 and time.perf_counter() - run_start >= cfg.time_limit
            step, last = training.step, training.step == cfg.steps or out_of_time
            save_now = step % cfg.ckpt_every == 0 or last
            if step % cfg.log_every == 0 or save_now:
                flush()
            io_start = time.perf_counter()
            if step % cfg.sample_every == 0 or last:
                picture = save_picture(training, run_dir / "samples" / f"step_{step:07d}.png")
            if training.schedule is not None and (last or training.growth[0] != stage):
                save_stage_picture(training, run_dir, stage)
            if evaluator is not None and (last or (eval_every and step % eval_every == 0)):
                _evaluate(training, evaluator, better, run_dir)
            if save_now:
                save_checkpoint(checkpoint_path, _payload(training))
            io_seconds += time.perf_counter() - io_start
            io_total += time.perf_counter() - io_start
            if out_of_time:
                break
    except KeyboardInterrupt:
        if interval_steps:
            flush()
        save_checkpoint(checkpoint_path, _payload(training))
        raise Interrupted(f"interrupted at step {training.step}; checkpoint saved, continue with "
                          f"`ganforge train --resume {run_dir}`") from None
    finally:
        bar.close()
        log.close()
    elapsed = time.perf_counter() - run_start - io_total
    return RunResult(run_dir, checkpoint_path, picture, training.step, images_done / max(elapsed, 1e-9))


def _payload(training: Training) -> dict:
    data = training.dataset
    return {
        **training.state_dict(),
        "config": to_dict(training.config),
        "data": {"name": data.name, "sample_shape": list(data.sample_shape), "num_classes": data.num_classes},
    }


def resume_config(run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """The config a run was started with, plus `overrides` (typically a larger `train.steps`)."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a ganforge run directory (no config.yaml)")
    return load_config(path, overrides)
