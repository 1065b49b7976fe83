"""Named registries so that configs select components by name, and `ganforge list` can show them all."""
from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterator, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> component table that rejects duplicates and explains unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, help: str = "") -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = item
            doc = help or (getattr(item, "__doc__", None) or "").strip().splitlines()[:1]
            self._help[name] = doc if isinstance(doc, str) else (doc[0] if doc else "")
            return item

        return add

    def get(self, name: str) -> T:
        if name not in self._items:
            close = difflib.get_close_matches(name, self._items, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"unknown {self.kind} {name!r}{hint}; known: {', '.join(sorted(self._items))}"
            )
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def describe(self) -> Iterator[tuple[str, str]]:
        for name in self.names():
            yield name, self._help[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items


MODELS: Registry = Registry("model")
LOSSES: Registry = Registry("loss")
DATASETS: Registry = Registry("dataset")
