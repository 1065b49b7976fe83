"""benchmarks/quality_at_budget.py's plain-loop stage, driven for a second: it once passed BatchOrder's
(index, flips) pair as the index, so every batch gained a dimension and the benchmark crashed after its
ganforge runs had spent their whole budget."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
FASHION = Path("/usr/share/datasets/fashion-mnist")


def _benchmark():
    spec = importlib.util.spec_from_file_location("quality_at_budget", ROOT / "benchmarks" / "quality_at_budget.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_plain_stage_trains_on_image_batches_and_scores_its_sampler(monkeypatch):
    bench = _benchmark()
    shapes: list[torch.Size] = []
    step = bench.PlainDCGAN.step
    monkeypatch.setattr(bench.PlainDCGAN, "step", lambda self, x: (shapes.append(x.shape), step(self, x))[1])
    scored = {}

    def fake_evaluate(sample, data, metrics, n):
        scored.update(images=sample(8), metrics=metrics, n=n)
        return {"fd_fmnist": 1.0}

    monkeypatch.setattr(bench, "evaluate", fake_evaluate)
    row = bench.run_plain(budget=1.0, n=123, seed=0)
    assert row["steps"] == len(shapes) >= 1
    assert set(shapes) == {torch.Size([64, 1, 32, 32])}
    assert row["img/s"] > 0 and row["fd_fmnist"] == 1.0
    assert scored["n"] == 123 and scored["metrics"] == bench.METRICS
    assert scored["images"].shape == (8, 1, 32, 32)
