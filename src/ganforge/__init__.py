"""ganforge: train, evaluate and compare generative adversarial networks.

The package top holds the few calls the command line is made of (docs/structure.md shows them in use):

- `load_config(path_or_preset, overrides)` -> `RunConfig`
- `train(config, run_dir=None, resume=None)` -> `RunResult`, with `config.eval`'s evaluation, `best.pt`
  and `report.html` (its path in the result's `report`)
- `load_generator(checkpoint_or_run_dir, ema=True)` -> the generator, in eval mode
- `sample(G, n, seed=0, class_index=None)` -> samples on the CPU
- `evaluate(checkpoint_or_run_dir, metrics="", n=10_000)` -> {result key: value}
- `export_samples(checkpoint, "out/" or "x.npz", n)` -> numbered PNGs or a uint8 .npz, in bounded memory
- `evaluate_samples("out/" or "x.npz", "fashion-mnist")` -> the same metrics on images from anywhere

They are imported on first use, so `import ganforge` stays cheap (no torch) for tools that only need the
version or the config.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> (module, attribute)
_API = {
    "load_config": ("ganforge.config", "load_config"),
    "RunConfig": ("ganforge.config", "RunConfig"),
    "train": ("ganforge.api", "train"),
    "RunResult": ("ganforge.engine.loop", "RunResult"),
    "load_generator": ("ganforge.generate", "load_generator"),
    "sample": ("ganforge.api", "sample"),
    "evaluate": ("ganforge.evaluation", "evaluate_checkpoint"),
    "export_samples": ("ganforge.generate", "export_samples"),
    "evaluate_samples": ("ganforge.evaluation", "evaluate_samples"),
}
__all__ = ["__version__", *_API]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time `__getattr__` imports on first use
    from .api import sample, train
    from .config import RunConfig, load_config
    from .engine.loop import RunResult
    from .evaluation import evaluate_checkpoint as evaluate
    from .evaluation import evaluate_samples
    from .generate import export_samples, load_generator


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'ganforge' has no attribute {name!r}")
    module, attribute = _API[name]
    value = getattr(import_module(module), attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
