"""Statistics any part of training can report; the loop averages them per interval and writes them out."""
from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import torch


class Stats:
    """Collects scalar reports between two flushes without forcing a device sync per report."""

    def __init__(self) -> None:
        self._values: dict[str, list[torch.Tensor]] = defaultdict(list)

    def report(self, name: str, value: torch.Tensor | float) -> None:
        tensor = value.detach().float() if isinstance(value, torch.Tensor) else torch.tensor(float(value))
        self._values[name].append(tensor.reshape(()))

    def collect(self) -> dict[str, float]:
        """Mean of each statistic since the last call, then forget them."""
        means = {name: torch.stack([v.cpu() for v in values]).mean().item()
                 for name, values in self._values.items()}
        self._values.clear()
        return means


def first_non_finite(record: dict[str, float]) -> str | None:
    for name, value in record.items():
        if isinstance(value, float) and not math.isfinite(value):
            return name
    return None


class RunLog:
    """Appends records to `log.jsonl` and mirrors them to TensorBoard when it is installed and wanted."""

    def __init__(self, run_dir: Path, tensorboard: bool) -> None:
        self.path = run_dir / "log.jsonl"
        self._writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is an optional extra
                SummaryWriter = None
            if SummaryWriter is not None:
                self._writer = SummaryWriter(str(run_dir / "tensorboard"))

    def write(self, record: dict) -> None:
        append_jsonl(self.path, record)
        if self._writer is not None:
            step = record["step"]
            for name, value in record.items():
                if name != "step" and isinstance(value, (int, float)):
                    self._writer.add_scalar(name, value, step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def append_jsonl(path: Path, record: dict) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


def rewind_jsonl(path: Path, step: int) -> list[dict]:
    """Drop the records a killed run wrote after its last checkpoint, so a resumed log is one trajectory."""
    kept = [record for record in read_log(path) if record.get("step", 0) <= step]
    if path.is_file():
        path.write_text("".join(json.dumps(record) + "\n" for record in kept))
    return kept


def read_log(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
