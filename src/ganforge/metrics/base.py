"""What a metric is and the registry of them. Metric modules (`suite`, `stacked`) import this one and the
package imports them for registration, so imports point one way."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..registry import Registry
from .context import EvalContext


@dataclass(frozen=True)
class Metric:
    compute: Callable[[EvalContext], dict[str, float]]
    kind: str                       # data it applies to: "image", "points" (2-D toy) or "1d"
    keys: tuple[str, ...]           # result keys it always returns (swd adds one per pyramid level)
    higher_is_better: frozenset     # result keys where larger is better (the rest: smaller is better)
    doc: str
    conditional: bool = False       # needs a class-conditional generator (the classes asked for)
    unfit: Callable[[tuple[int, ...]], str] | None = None  # why samples of this shape cannot be scored ("": they can)
    opt_in: bool = False            # only when asked for: slow, needing an optional extra, or meaningful only on
                                    # the data it was made for


METRICS: Registry = Registry("metric")


def register_metric(name: str, kind: str, doc: str, keys: tuple[str, ...], higher: tuple[str, ...] = (),
                    conditional: bool = False, unfit: Callable[[tuple[int, ...]], str] | None = None,
                    opt_in: bool = False):
    def add(compute: Callable[[EvalContext], dict[str, float]]) -> Callable[[EvalContext], dict[str, float]]:
        METRICS.register(name, help=f"[{kind}] {doc}")(
            Metric(compute, kind, keys, frozenset(higher), doc, conditional, unfit, opt_in))
        return compute

    return add
