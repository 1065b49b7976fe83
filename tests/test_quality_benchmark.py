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


def test_summary_compares_each_seed_with_its_own_plain_loop():
    bench = _benchmark()
    run = "ganforge cdcgan_fashion_best"
    rows = [{"run": run, "seed": 0, "fd_fmnist": 0.6, "recall": 0.76, "swd": 9.0, "swd_32": 6.0},
            {"run": bench.PLAIN, "seed": 0, "fd_fmnist": 4.0, "recall": 0.70, "swd": 10.0, "swd_32": 10.0},
            {"run": run, "seed": 1, "fd_fmnist": 0.4, "recall": 0.84, "swd": 4.0, "swd_32": 7.0},
            {"run": bench.PLAIN, "seed": 1, "fd_fmnist": 2.0, "recall": 0.71, "swd": 8.0, "swd_32": 10.0}]
    s = bench.summarise(rows)[run]
    # seed 0: 0.15x and 0.9x; seed 1: 0.2x and 0.5x
    assert s["fd_ratio"] == pytest.approx(0.175) and s["fd_ratio_std"] == pytest.approx(0.05 / 2 ** 0.5)
    assert s["swd_ratio"] == pytest.approx(0.7) and s["recall"] == pytest.approx(0.80)
    assert s["swd_fine_ratio"] == pytest.approx(0.65)  # 0.6x and 0.7x
    assert s["seeds"] == 2 and s["met"] == 0.0   # FD 0.175x misses 0.15x
    rows[2]["fd_fmnist"] = 0.2                    # seed 1 now 0.1x: mean 0.125x, all four met
    assert bench.summarise(rows)[run]["met"] == 1.0
    rows[2]["swd_32"] = 11.0                      # the fine level alone now misses: 0.6x and 1.1x
    assert bench.summarise(rows)[run]["met"] == 0.0


def test_run_ganforge_trains_the_seed_it_is_given(monkeypatch, tmp_path):
    bench = _benchmark()
    seen = {}

    def fake_train(config, run_dir, progress):
        seen.update(seed=config.seed, limit=config.train.time_limit, run_dir=run_dir)
        return type("Result", (), {"steps": 5, "images_per_second": 1.0, "checkpoint": run_dir / "c"})()

    monkeypatch.setattr(bench, "train", fake_train)
    monkeypatch.setattr(bench, "evaluate_checkpoint", lambda *a, **k: {"fd_fmnist": 2.0})
    folder = bench.run_folder(tmp_path, "cdcgan_fashion_best:train.amp=bf16", 3)
    row = bench.run_ganforge("cdcgan_fashion_best:train.amp=bf16", 7.0, 10, folder, seed=3)
    assert seen == {"seed": 3, "limit": 7.0, "run_dir": folder} and folder.name.endswith("_seed3")
    assert row == {"steps": 5, "img/s": 1.0, "fd_fmnist": 2.0}


def test_a_used_run_folder_is_refused_before_any_training(monkeypatch, tmp_path, capsys):
    bench = _benchmark()
    monkeypatch.setattr(bench, "run_ganforge", lambda *a, **k: pytest.fail("trained before checking outputs"))
    used = bench.run_folder(tmp_path, "dcgan_fashion", 1)
    used.mkdir(parents=True)
    (used / "old.txt").write_text("x")
    monkeypatch.setattr("sys.argv", ["quality_at_budget.py", "--out", str(tmp_path), "--seeds", "0", "1"])
    with pytest.raises(SystemExit) as exit_:
        bench.main()
    assert exit_.value.code == 2
    assert str(used) in capsys.readouterr().err and not bench.run_folder(tmp_path, "dcgan_fashion", 0).exists()


@pytest.mark.parametrize("argv, message", [
    (["--config", "dcgan_fashion:seed=2"], "set seeds with --seeds"),
    (["--seeds", "1", "1"], "each seed once"),
    (["--json", "rows.txt"], "--json"),
])
def test_inconsistent_options_are_refused_in_one_line(monkeypatch, tmp_path, capsys, argv, message):
    bench = _benchmark()
    monkeypatch.setattr(bench, "run_ganforge", lambda *a, **k: pytest.fail("trained despite a refused option"))
    monkeypatch.setattr("sys.argv", ["quality_at_budget.py", "--out", str(tmp_path), *argv])
    with pytest.raises(SystemExit) as exit_:
        bench.main()
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert exit_.value.code == 2 and message in error and not any(tmp_path.iterdir())
