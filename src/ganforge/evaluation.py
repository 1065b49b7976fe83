"""Evaluating trained generators: checkpoints on demand (`ganforge eval`) and periodically during training,
and sample files from anywhere (`ganforge eval --samples`).

Each turns its images into a sample function and calls `metrics.evaluate`; a checkpoint's results are
appended to the run's `metrics.jsonl`.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable

from torch import nn

from .config import DataConfig, RunConfig, make_config
from .data import build_dataset
from .engine.checkpoint import load_checkpoint, load_state, resolve_checkpoint
from .engine.distributed import current as current_world
from .engine.loop import METRICS_LOG
from .engine.stats import append_jsonl
from .errors import DataError, GanforgeError
from .generate import generator_sampler, load_generator
from .metrics import check_best_key, evaluate, parse_metric_names
from .metrics.context import EvalContext, tensor_sampler
from .models import discriminator_probability, rebuild
from .outputs import check_folder, writing
from .samplefiles import from_uint8, read_samples


def evaluate_checkpoint(checkpoint: str | Path, metrics: str = "", n: int = 10_000, seed: int = 0,
                        batch_size: int = 250, ema: bool = True, progress: bool = True,
                        record: bool = True) -> dict[str, float]:
    """Evaluate the generator in `checkpoint` (file or run directory) against the data it was trained on.

    The results, with the step and sample count, are appended to `metrics.jsonl` beside the checkpoint
    (with `record`; that folder is checked first, so a long evaluation is not lost to it).
    """
    if n <= 0 or batch_size <= 0:
        raise GanforgeError(f"--n and --batch-size must be positive, got {n} and {batch_size}")
    path = resolve_checkpoint(checkpoint)
    if record:
        check_folder(path.parent, "the run folder")
    payload = load_checkpoint(path)
    config: RunConfig = make_config(payload["config"])
    parse_metric_names(metrics)  # fail on a typo before any work
    G = load_generator(path, ema)
    D = rebuild(payload["models"], "discriminator")
    load_state(D, payload["discriminator"], "discriminator", str(path))
    start = time.perf_counter()
    results = evaluate(generator_sampler(G, seed), config.data, metrics, n=n, seed=seed,
                       batch_size=batch_size, progress=progress, discriminator=discriminator_probability(D))
    if record:
        with writing(path.parent / METRICS_LOG):
            append_jsonl(path.parent / METRICS_LOG, {"step": payload["step"], "n": n, "seed": seed, "ema": ema,
                                                     "seconds": round(time.perf_counter() - start, 2), **results})
    return results


def evaluate_samples(samples: str | Path, data: DataConfig | str, metrics: str = "", n: int | None = None,
                     seed: int = 0, batch_size: int = 250, progress: bool = True) -> dict[str, float]:
    """Evaluate images from anywhere (an .npz or a folder of PNG/JPEG, see `samplefiles.read_samples`)
    against `data` (a data section, or a dataset name taken at the samples' resolution), with the same
    metrics, real-data draw and cached statistics as `evaluate_checkpoint`.

    The first `n` images are scored (default: all). Files written by `ganforge sample RUN --n n --seed s`
    give exactly what `ganforge eval RUN --n n --seed s` gives (at the same batch size: latents are drawn
    batch by batch). Metrics that need the run's discriminator
    (d_gap, for 1-D data only) cannot apply to images and are refused by `evaluate`.
    """
    names = parse_metric_names(metrics)  # fail on a typo before any work
    pixels, labels = read_samples(samples)
    n = len(pixels) if n is None else n
    if not 0 < n <= len(pixels):
        raise DataError(f"{samples}: --n must be in 1..{len(pixels)} (the images there), got {n}")
    if isinstance(data, str):
        data = DataConfig(name=data, resolution=pixels.shape[-1])
    real = build_dataset(dataclasses.replace(data, split="train"))
    if tuple(pixels.shape[1:]) != real.sample_shape:
        raise DataError(f"{samples}: images are {list(pixels.shape[1:])} (C, H, W) but {data.name} at "
                        f"data.resolution={data.resolution} is {list(real.sample_shape)}")
    sampler = tensor_sampler(from_uint8(pixels[:n]), None if labels is None else labels[:n])
    return evaluate(sampler, data, names, n=n, seed=seed, batch_size=batch_size, progress=progress)


def training_evaluator(config: RunConfig) -> Callable[[nn.Module, nn.Module], dict[str, float]] | None:
    """The periodic evaluation `config.eval` asks for, as (G, D) -> results; None when it is off.

    Each evaluation draws the same latents (seeded by the run's seed), so successive results compare
    the generator and not the draw, and it never touches the training's own random state.
    """
    if config.eval.every == 0:
        return None
    names = parse_metric_names(config.eval.metrics)
    check_best_key(config.eval.best, names)

    def run(G: nn.Module, D: nn.Module) -> dict[str, float]:
        world = current_world()
        sample = generator_sampler(G, config.seed + 7, world)
        if not world.writer:  # generate this rank's share, as rank 0's evaluation asks, and take its results
            EvalContext(sample, config.data, config.eval.n, config.seed).fake
            return world.broadcast(None)
        results = evaluate(sample, config.data, names, n=config.eval.n, seed=config.seed,
                           discriminator=discriminator_probability(D))
        return world.broadcast(results)

    return run


def format_table(results: dict[str, float]) -> str:
    width = max((len(k) for k in results), default=0)
    return "\n".join(f"{key:<{width}}  {value:12.6g}" for key, value in results.items())

