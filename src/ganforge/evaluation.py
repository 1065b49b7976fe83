"""Evaluating trained generators: checkpoints on demand (`ganforge eval`) and periodically during training.

Both turn a generator into a sample function and call `metrics.evaluate`; results are appended to the
run's `metrics.jsonl`.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .config import RunConfig, make_config
from .engine.checkpoint import load_checkpoint, load_state, resolve_checkpoint
from .engine.distributed import SINGLE, World
from .engine.distributed import current as current_world
from .engine.loop import METRICS_LOG
from .engine.stats import append_jsonl
from .generate import load_generator
from .metrics import check_best_key, evaluate, parse_metric_names
from .metrics.context import EvalContext, SampleFn
from .models import balanced_labels, discriminator_probability, rebuild


def generator_sampler(G: nn.Module, seed: int, world: World = SINGLE) -> SampleFn:
    """n -> G(z) for a fresh latent draw of a generator seeded once, in eval mode, on G's device.

    A class-conditional G is asked for every class in turn (balanced labels), and the sampler returns the
    labels with the samples so metrics can check them. Images are clipped to the data's range [-1, 1], as
    they are when saved: a generator with a linear output (PGGAN's) can overshoot it. In a distributed run
    every rank draws the same n latents, generates its share of them and receives the others' (a
    collective: every rank calls it alike), so the samples are those one process would make."""
    device = next(G.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    drawn = 0

    @torch.no_grad()
    def sample(n: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        nonlocal drawn
        y = balanced_labels(G, n, start=drawn)
        drawn += n
        was_training = G.training
        G.eval()
        mine = world.part(n)
        z = torch.randn(n, G.z_dim, generator=generator)[mine].to(device)
        out = world.gather(G(z, y[mine].to(device) if y is not None else None).float().cpu())
        if out.dim() == 4:
            out = out.clamp_(-1.0, 1.0)
        G.train(was_training)
        return out if y is None else (out, y)

    return sample


def evaluate_checkpoint(checkpoint: str | Path, metrics: str = "", n: int = 10_000, seed: int = 0,
                        batch_size: int = 250, ema: bool = True, progress: bool = True,
                        record: bool = True) -> dict[str, float]:
    """Evaluate the generator in `checkpoint` (file or run directory) against the data it was trained on.

    The results, with the step and sample count, are appended to `metrics.jsonl` beside the checkpoint.
    """
    path = resolve_checkpoint(checkpoint)
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
        append_jsonl(path.parent / METRICS_LOG, {"step": payload["step"], "n": n, "seed": seed, "ema": ema,
                                    "seconds": round(time.perf_counter() - start, 2), **results})
    return results


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

