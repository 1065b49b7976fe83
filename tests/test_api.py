"""The Python API at the package top: the snippet in README.md runs as written."""
import re
from pathlib import Path

import ganforge

DOC = Path(__file__).resolve().parents[1] / "README.md"


def _snippet() -> str:
    """The first ```python block under the "Python API" heading, so the documentation cannot rot."""
    section = DOC.read_text().split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_documented_snippet_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_snippet(), str(DOC), "exec"), scope)
    result, points, scores = scope["result"], scope["points"], scope["scores"]
    assert result.steps == 100 and result.run_dir.resolve().parent == tmp_path / "runs"
    assert (result.run_dir / "best.pt").is_file() and (result.run_dir / "metrics.jsonl").is_file()
    assert points.shape == (1000, 2)
    assert 0 <= scores["modes"] <= 8


def test_the_package_top_lists_its_api():
    for name in ("load_config", "train", "load_generator", "sample", "evaluate", "export_samples",
                 "evaluate_samples", "RunConfig", "RunResult"):
        assert name in ganforge.__all__ and callable(getattr(ganforge, name))
    assert ganforge.train is __import__("ganforge.runner").runner.train
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
