"""`ganforge demo`: its runs go through the one training entry point, so `eval.*` in a preset applies."""
from ganforge import demo
from ganforge.config import load_config
from ganforge.errors import DataError

from .runs import toy_overrides


def test_demo_runs_honour_eval_settings(tmp_path, monkeypatch):
    tiny = toy_overrides(tmp_path, steps=20) + ["eval.every=10", "eval.metrics=modes", "eval.n=100"]
    monkeypatch.setattr(demo, "load_config", lambda path, overrides=(): load_config(path, [*overrides, *tiny]))

    def no_fashion(config):
        raise DataError("no Fashion-MNIST in this test")

    monkeypatch.setattr(demo, "build_dataset", no_fashion)
    results = demo.run_demo(tmp_path / "demo")
    lines = (results[0].run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 and results[0].steps == 20
