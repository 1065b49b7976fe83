"""The evaluation entry point, the class-coverage metric, and evaluation during training."""
import json

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig, make_config
from ganforge.errors import ConfigError
from ganforge.metrics import METRICS, evaluate, higher_is_better
from ganforge.metrics.context import EvalContext, tensor_sampler

from ..runs import toy_overrides


def ring_sampler(noise: float = 0.0):
    generator = torch.Generator().manual_seed(0)

    def sample(n: int) -> torch.Tensor:
        angles = 2 * torch.pi * torch.randint(8, (n,), generator=generator) / 8
        return torch.stack([angles.cos(), angles.sin()], 1) + noise * torch.randn(n, 2, generator=generator)

    return sample


def test_toy_evaluation_uses_the_data_modes():
    ring = DataConfig(name="ring", num_samples=3000)
    exact = evaluate(ring_sampler(), ring, n=2500, cache_dir=None)
    assert exact["modes"] == 8 and exact["high_quality"] == 1.0
    blurred = evaluate(ring_sampler(noise=0.2), ring, "modes", n=2500, cache_dir=None)
    assert blurred["high_quality"] < 0.5


def test_unknown_and_misapplied_metrics_are_config_errors():
    ring = DataConfig(name="ring", num_samples=3000)
    with pytest.raises(ConfigError, match="unknown metric 'fd_fmnsit'"):
        evaluate(ring_sampler(), ring, "fd_fmnsit", n=10, cache_dir=None)
    with pytest.raises(ConfigError, match="applies to image data, but ring is points data"):
        evaluate(ring_sampler(), ring, "swd", n=10, cache_dir=None)


def test_class_coverage_by_hand(monkeypatch):
    context = EvalContext(tensor_sampler(torch.zeros(1, 1)), DataConfig(name="ring"), 1)
    fake = np.array([0] * 50 + [1] * 49 + [2] * 1)          # class 2 gets 1%: covered; class 3 none
    real = np.array([0, 1, 2, 3] * 25)
    context.__dict__["fake_classified"] = (None, fake)
    context.__dict__["real_classified"] = (None, real)
    result = METRICS.get("classes").compute(context)
    expected_kl = 0.5 * np.log(0.5 / 0.25) + 0.49 * np.log(0.49 / 0.25) + 0.01 * np.log(0.01 / 0.25)
    assert result["classes_covered"] == 3
    assert result["class_kl"] == pytest.approx(expected_kl)


def test_tensor_sampler_hands_out_in_order():
    sample = tensor_sampler(torch.arange(5.0))
    assert sample(2).tolist() == [0, 1] and sample(3).tolist() == [2, 3, 4]
    with pytest.raises(ValueError):
        sample(1)


def test_direction_of_results():
    assert higher_is_better("precision") and higher_is_better("modes")
    assert not higher_is_better("fd_fmnist") and not higher_is_better("swd")


def test_periodic_evaluation_runs_every_eval_every_steps(tmp_path):
    from ganforge.runner import train

    config = make_config({}, toy_overrides(tmp_path, steps=20) + [
        "eval.every=10", "eval.metrics=modes", "eval.n=500", "eval.best=high_quality"])
    train(config, run_dir=tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [10, 20] and "high_quality" in records[0]
    assert (tmp_path / "run" / "best.pt").is_file()


@pytest.mark.parametrize("key, best_step", [("precision", 20), ("swd", 30)])
def test_best_checkpoint_follows_the_direction_of_the_key(tmp_path, monkeypatch, key, best_step):
    """Through the one entry point, `best.pt` keeps the highest precision (step 20) but the lowest swd
    (step 30) of the same scripted results; one rule for both keys would get one of them wrong."""
    from ganforge import runner
    from ganforge.engine.checkpoint import load_checkpoint

    values = iter([0.5, 0.8, 0.3, 0.6])  # at steps 10, 20, 30, 40
    monkeypatch.setattr(runner, "training_evaluator", lambda config: lambda G, D: {key: next(values)})
    config = make_config({}, toy_overrides(tmp_path, steps=40) + ["eval.every=10", f"eval.best={key}"])
    runner.train(config, run_dir=tmp_path / "run")
    payload = load_checkpoint(tmp_path / "run" / "best.pt")
    assert payload["step"] == best_step
    assert payload["best"] == {"key": key, "value": {20: 0.8, 30: 0.3}[best_step], "step": best_step}


def test_evaluation_does_not_change_training(tmp_path):
    """Periodic evaluation draws its own latents: weights match a run without it."""
    from ganforge.engine.checkpoint import load_checkpoint
    from ganforge.runner import train

    plain = make_config({}, toy_overrides(tmp_path, steps=20))
    evaluated = make_config({}, toy_overrides(tmp_path, steps=20) + ["eval.every=5", "eval.metrics=modes",
                                                                      "eval.n=100"])
    train(plain, run_dir=tmp_path / "a")
    train(evaluated, run_dir=tmp_path / "b")
    assert (tmp_path / "b" / "metrics.jsonl").is_file() and not (tmp_path / "a" / "metrics.jsonl").exists()
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    for name in a["generator"]:
        assert torch.equal(a["generator"][name], b["generator"][name])


def test_eval_best_must_be_a_result_key(tmp_path, monkeypatch):
    """The refusal comes from inside the entry point, before the loop makes the run directory."""
    from ganforge import runner

    config = make_config({}, toy_overrides(tmp_path, steps=10) + ["eval.every=10", "eval.metrics=modes",
                                                                   "eval.n=100", "eval.best=fd_fmnist"])
    reached = []
    monkeypatch.setattr(runner, "train_loop", lambda *a, **k: reached.append(a))
    with pytest.raises(ConfigError, match="eval.best is 'fd_fmnist', which the chosen metrics do not give"):
        runner.train(config, run_dir=tmp_path / "run")
    assert reached == [] and not (tmp_path / "run").exists()


def test_generated_images_are_clipped_to_the_data_range_but_points_are_not():
    from torch import nn

    from ganforge.evaluation import generator_sampler

    class Overshooting(nn.Module):
        z_dim = 2

        def __init__(self, image: bool):
            super().__init__()
            self.scale = nn.Parameter(torch.tensor(5.0))
            self.image = image

        def forward(self, z, y=None):
            out = z * self.scale
            return out.view(len(z), 1, 1, 2) if self.image else out

    images = generator_sampler(Overshooting(image=True), seed=0)(500)
    assert images.min() == -1.0 and images.max() == 1.0
    points = generator_sampler(Overshooting(image=False), seed=0)(500)
    assert points.abs().max() > 1.0
