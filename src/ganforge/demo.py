"""The embedded default job: a 2-D ring in seconds, then a class-conditional DCGAN on Fashion-MNIST (when
the data is present) that ends on a picture with one row per garment class."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from .api import TrainedRun, check_training_output, train
from .config import load_config
from .data import build_dataset
from .errors import DataError
from .generate import sample_to_file

FASHION_PRESET = "cdcgan_fashion_demo"


def _preset(name: str) -> Path:
    return Path(str(resources.files("ganforge") / "configs" / f"{name}.yaml"))


def _report(title: str, result: TrainedRun) -> None:
    print(f"{title}: {result.steps} steps at {result.images_per_second:.0f} images/s")
    print(f"  samples:    {result.picture}")
    print(f"  checkpoint: {result.checkpoint}")
    print(f"  report:     {result.report}")


def run_demo(out: str | Path, fashion_steps: int | None = None) -> list[TrainedRun]:
    """Train both demo runs under `out` (`fashion_steps`: None keeps the preset's) and print where their
    pictures and reports are; the last line names the class grid of the Fashion-MNIST run. Both runs'
    folders are checked before the first trains, so a demo never stops halfway on an old one."""
    out = Path(out)
    ring = load_config(_preset("toy_ring"))
    steps = [] if fashion_steps is None else [f"train.steps={fashion_steps}", f"train.sample_every={fashion_steps}"]
    fashion = load_config(_preset(FASHION_PRESET), steps)
    check_training_output(ring, out / "toy_ring", None)
    check_training_output(fashion, out / FASHION_PRESET, None)
    results = [train(ring, run_dir=out / "toy_ring")]
    _report("2-D ring of 8 Gaussians (MLP GAN)", results[0])
    try:
        build_dataset(fashion.data)
    except DataError as exc:
        print(f"skipping the Fashion-MNIST demo: {exc}")
        return results
    result = train(fashion, run_dir=out / FASHION_PRESET)
    results.append(result)
    _report("class-conditional DCGAN on Fashion-MNIST 32x32", result)
    grid = sample_to_file(result.checkpoint, result.run_dir / "classes.png", n=10, class_grid=True)
    print(f"next: ganforge sample {result.run_dir} --n 10000 --out samples.npz   (then: ganforge eval --samples "
          f"samples.npz --data fashion-mnist)")
    print(f"class grid (one row per class, in label order): {grid}")
    return results
