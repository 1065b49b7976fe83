"""The Python API at the package top: the snippet in README.md runs as written."""
import json
import math
import re
from pathlib import Path

import torch

import ganforge

DOC = Path(__file__).resolve().parents[1] / "README.md"


def _snippet() -> str:
    """The first ```python block under the "Python API" heading, so the documentation cannot rot."""
    section = re.split(r"^## Python API$", DOC.read_text(), maxsplit=1, flags=re.M)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _ring_modes(points: torch.Tensor) -> int:
    """Modes of the 8-Gaussian ring (radius 1, std 0.01) holding a sample within 3 std of their centre,
    counted here from the definition rather than by the library's metric."""
    angles = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
    centres = torch.stack([angles.cos(), angles.sin()], dim=1)
    distance, nearest = torch.cdist(points.double(), centres).min(dim=1)
    return len(set(nearest[distance <= 0.03].tolist()))


def test_the_documented_snippet_runs(tmp_path, monkeypatch):
    """The snippet trains 1,000 of toy_ring's 3,000 steps (seed 0). That run covers 2 of the 8 modes, the
    same at 1 and 2 threads (seeds 1 and 3 cover 7; an untrained G or 100 steps cover none), so fewer
    means training, loading or sampling broke."""
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_snippet(), str(DOC), "exec"), scope)
    result, points, scores = scope["result"], scope["points"], scope["scores"]
    assert result.steps == 1000 and result.run_dir.resolve().parent == tmp_path / "runs"
    assert points.shape == (1000, 2)
    assert scores["modes"] >= 2 and _ring_modes(points) >= 2
    records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    during = [r for r in records if "n" not in r]           # the eval.every records; evaluate() adds the last
    assert [r["step"] for r in during] == [500, 1000]
    assert records[-1]["modes"] == scores["modes"] and records[-1]["high_quality"] == scores["high_quality"]
    # eval.best=high_quality keeps the step with the highest share (higher is better for this key)
    best = torch.load(result.run_dir / "best.pt", weights_only=True)
    assert best["step"] == max(during, key=lambda r: r["high_quality"])["step"]


def test_the_package_top_lists_its_api():
    for name in ("load_config", "train", "load_generator", "sample", "evaluate", "export_samples",
                 "evaluate_samples", "RunConfig", "RunResult"):
        assert name in ganforge.__all__ and callable(getattr(ganforge, name))
    assert ganforge.train is __import__("ganforge.api").api.train
    try:
        ganforge.trian
    except AttributeError as exc:
        assert "has no attribute 'trian'" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


def test_sample_gives_every_class_in_turn_or_the_one_asked_for():
    import torch

    from ganforge.config import ModelConfig
    from ganforge.models import build_models

    G, _, _ = build_models(ModelConfig(name="mlp", g_label="concat", d_label="acgan"), (2,), num_classes=3)
    seen = []
    original = G.forward
    G.forward = lambda z, y=None: seen.append(y.clone()) or original(z, y)
    assert ganforge.sample(G.eval(), 6, seed=1).shape == (6, 2)
    assert ganforge.sample(G, 4, class_index=2).shape == (4, 2)
    assert seen[0].tolist() == [0, 1, 2, 0, 1, 2] and seen[1].tolist() == [2, 2, 2, 2]
    assert torch.equal(ganforge.sample(G, 5, seed=3), ganforge.sample(G, 5, seed=3))
