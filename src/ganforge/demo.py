"""The embedded default job: a 2-D ring in seconds, then DCGAN on Fashion-MNIST when the data is present."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from .config import load_config
from .data import build_dataset
from .engine.loop import RunResult
from .runner import train
from .errors import DataError


def _preset(name: str) -> Path:
    return Path(str(resources.files("ganforge") / "configs" / f"{name}.yaml"))


def _report(title: str, result: RunResult) -> None:
    print(f"{title}: {result.steps} steps at {result.images_per_second:.0f} images/s")
    print(f"  samples:    {result.picture}")
    print(f"  checkpoint: {result.checkpoint}")


def run_demo(out: str | Path, fashion_steps: int = 400) -> list[RunResult]:
    out = Path(out)
    results = [train(load_config(_preset("toy_ring")), run_dir=out / "toy_ring")]
    _report("2-D ring of 8 Gaussians (MLP GAN)", results[0])
    fashion = load_config(_preset("dcgan_fashion"), [f"train.steps={fashion_steps}",
                                                     f"train.sample_every={fashion_steps}"])
    try:
        build_dataset(fashion.data)
    except DataError as exc:
        print(f"skipping the DCGAN demo: {exc}")
        return results
    results.append(train(fashion, run_dir=out / "dcgan_fashion"))
    _report("DCGAN on Fashion-MNIST 32x32", results[1])
    print(f"next: ganforge interpolate {results[1].run_dir} --out walk.png")
    return results
