"""Evaluation: metrics registered by name, computed on any sample function against a dataset.

Each metric is a chain of small pure functions (samples -> features or descriptors -> statistics -> value)
living in its own module; `suite.py` registers them, and `evaluate` is the one entry point shared by the
API, `ganforge eval` and periodic evaluation during training.
"""
from __future__ import annotations

from pathlib import Path

from ..config import DataConfig
from ..errors import ConfigError
from .base import METRICS, Metric, register_metric  # noqa: F401  (the package's public names)
from .cache import default_cache_dir
from .context import EvalContext, SampleFn


def data_kind(context: EvalContext) -> str:
    if context.is_image:
        return "image"
    return "1d" if context.real_dataset.sample_shape == (1,) else "points"


def _unfit(metric: Metric, shape: tuple[int, ...] | None) -> str:
    return metric.unfit(shape) if metric.unfit is not None and shape is not None else ""


def default_metrics(kind: str, conditional: bool = False, shape: tuple[int, ...] | None = None) -> list[str]:
    """Every metric for `kind` of data except the opt-in ones, those for conditional generators only when
    the generator is one, and (given the samples' `shape`) only those that can score such samples."""
    return [name for name in METRICS.names() if METRICS.get(name).kind == kind and not METRICS.get(name).opt_in
            and (conditional or not METRICS.get(name).conditional) and not _unfit(METRICS.get(name), shape)]


def parse_metric_names(text: str | list[str]) -> list[str]:
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text)
    names = [n for n in names if n]
    for name in names:
        METRICS.get(name)  # raises ConfigError naming the unknown metric
    return names


def evaluate(sample: SampleFn, data: DataConfig, metrics: str | list[str] = "", n: int = 10_000,
             seed: int = 0, batch_size: int = 250, cache_dir: Path | None | str = "default",
             progress: bool = False, discriminator=None) -> dict[str, float]:
    """Compute `metrics` (default: all that apply to the data) for `sample` (n -> samples) against `data`.

    Returns a flat dict, e.g. {"fd_fmnist": 12.3, "precision": 0.71, "swd_32": 8.1, ...}.
    """
    if n < 2:
        raise ConfigError(f"evaluation needs n >= 2 samples, got {n}")
    cache = default_cache_dir() if cache_dir == "default" else (Path(cache_dir) if cache_dir else None)
    context = EvalContext(sample, data, n, seed, batch_size, cache, progress, discriminator)
    kind, shape = data_kind(context), tuple(context.real_dataset.sample_shape)
    names = parse_metric_names(metrics)
    for name in names:  # every refusal before any sample is drawn
        metric: Metric = METRICS.get(name)
        if metric.kind != kind:
            raise ConfigError(f"metric {name!r} applies to {metric.kind} data, but {data.name} is {kind} data")
        if reason := _unfit(metric, shape):
            raise ConfigError(f"metric {name!r} does not apply here: {reason}")
    names = names or default_metrics(kind, context.fake_labels is not None, shape)
    results: dict[str, float] = {}
    for name in names:
        results.update(METRICS.get(name).compute(context))
    return results


def check_best_key(key: str, names: list[str]) -> None:
    """Fail before training when `eval.best` names a result the chosen metrics never give."""
    chosen = names or METRICS.names()
    keys = [k for name in chosen for k in METRICS.get(name).keys]
    if key and key not in keys:
        raise ConfigError(f"eval.best is {key!r}, which the chosen metrics do not give; choose from "
                          f"{', '.join(keys)}")


def higher_is_better(key: str) -> bool:
    """Whether a larger value of result `key` is better (for keeping the best checkpoint)."""
    return any(key in METRICS.get(name).higher_is_better for name in METRICS.names())


from . import suite, stacked  # noqa: E402,F401  (registration)
