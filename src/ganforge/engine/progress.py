"""Progress of a training run on stderr: a live bar on a terminal, plain lines in a log file.

Under `nohup`, CI or a job scheduler, stderr is a file, and a tqdm bar would write thousands of
carriage-return frames into one line of it; there a plain line every `every_seconds` reads better.
"""
from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

from tqdm import tqdm


class Progress(Protocol):
    """Steps done out of `total`, with the latest losses; `update` once per step, `show` when losses are read."""

    def update(self, steps: int = 1) -> None: ...

    def show(self, values: dict[str, str]) -> None: ...

    def close(self) -> None: ...


class Silent:
    def update(self, steps: int = 1) -> None:
        pass

    def show(self, values: dict[str, str]) -> None:
        pass

    def close(self) -> None:
        pass


class Bar:
    """tqdm's bar, for a terminal."""

    def __init__(self, total: int, initial: int, stream: TextIO) -> None:
        self._bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, file=stream)

    def update(self, steps: int = 1) -> None:
        self._bar.update(steps)

    def show(self, values: dict[str, str]) -> None:
        self._bar.set_postfix(values)

    def close(self) -> None:
        self._bar.close()


class Lines:
    """One line such as `step 1200/5000 (24%)  d=0.512 g=1.234  31.5 steps/s` at most every `every_seconds`,
    and one when the run stops, so a log file shows where the run got to without a bar's frames."""

    def __init__(self, total: int, initial: int, stream: TextIO, every_seconds: float = 30.0) -> None:
        self.total, self.step, self.stream, self.every = total, initial, stream, every_seconds
        self._values: dict[str, str] = {}
        self._last_time, self._last_step = time.monotonic(), initial
        self._printed_step: int | None = None

    def update(self, steps: int = 1) -> None:
        self.step += steps
        if time.monotonic() - self._last_time >= self.every:
            self._print()

    def show(self, values: dict[str, str]) -> None:
        self._values = dict(values)

    def close(self) -> None:
        if self._printed_step != self.step:
            self._print()

    def _print(self) -> None:
        now = time.monotonic()
        rate = (self.step - self._last_step) / max(now - self._last_time, 1e-9)
        losses = " ".join(f"{k}={v}" for k, v in self._values.items())
        percent = 100 * self.step / max(self.total, 1)
        line = f"step {self.step}/{self.total} ({percent:.0f}%)"
        self.stream.write("  ".join(part for part in (line, losses, f"{rate:.1f} steps/s") if part) + "\n")
        self.stream.flush()
        self._last_time, self._last_step, self._printed_step = now, self.step, self.step


def make_progress(total: int, initial: int, enabled: bool, stream: TextIO | None = None,
                  every_seconds: float = 30.0) -> Progress:
    """A bar when `stream` (default stderr) is a terminal, plain lines when it is not, nothing when disabled."""
    if not enabled:
        return Silent()
    stream = stream if stream is not None else sys.stderr
    if stream.isatty():
        return Bar(total, initial, stream)
    return Lines(total, initial, stream, every_seconds)
