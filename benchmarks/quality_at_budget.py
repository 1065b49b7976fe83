"""Sample quality after a fixed wall-clock training budget on Fashion-MNIST 32x32: the headline CPU figure.

Trains each ganforge configuration for `--budget` seconds, then a plain hand-written PyTorch DCGAN loop
(`ganforge.plain_loop`, same architecture) for the same time, one after the other so each has the machine to
itself; then scores `--n` samples of each with FD, KD, precision, recall, SWD and class coverage.

    python benchmarks/quality_at_budget.py [--budget 600] [--n 10000] [--config dcgan_fashion ...]

`--config` takes a preset name or YAML path, optionally followed by overrides after colons, e.g.
`--config dcgan_fashion --config "dcgan_fashion:train.ema_decay=0.999"`.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ganforge.cli import preset_path  # noqa: E402
from ganforge.config import DataConfig, load_config  # noqa: E402
from ganforge.plain_loop import PlainDCGAN  # noqa: E402
from ganforge.data import BatchOrder, build_dataset  # noqa: E402
from ganforge.runner import train  # noqa: E402
from ganforge.evaluation import evaluate_checkpoint  # noqa: E402
from ganforge.metrics import evaluate  # noqa: E402

METRICS = "fd_fmnist,kd_fmnist,pr_fmnist,swd,classes"
COLUMNS = ("steps", "img/s", "fd_fmnist", "kd_fmnist", "precision", "recall", "swd", "classes_covered",
           "class_kl")


def run_ganforge(spec: str, budget: float, n: int, out: Path) -> dict[str, float]:
    name, *overrides = spec.split(":")
    config = load_config(preset_path(name), [*overrides, "train.steps=100000000",
                                             f"train.time_limit={budget}"])
    run_dir = out / spec.replace(":", "_").replace("/", "_")
    result = train(config, run_dir=run_dir, progress=False)
    scores = evaluate_checkpoint(result.checkpoint, METRICS, n=n, progress=False)
    return {"steps": result.steps, "img/s": result.images_per_second, **scores}


def run_plain(budget: float, n: int, seed: int) -> dict[str, float]:
    """The plain loop on the same data and batch order scheme, for `budget` wall-clock seconds."""
    data = DataConfig(name="fashion-mnist", resolution=32)
    dataset = build_dataset(data)
    gan = PlainDCGAN(seed=seed)
    order = BatchOrder(len(dataset), 64, seed)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget:
        index, _ = order.next()   # no flips: the plain loop does not mirror
        gan.step(dataset.batch(index)[0])
        steps += 1
    rate = steps * 64 / (time.perf_counter() - start)
    scores = evaluate(gan.sample, data, METRICS, n=n)
    return {"steps": steps, "img/s": rate, **scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds per run")
    parser.add_argument("--n", type=int, default=10_000, help="samples scored per run")
    parser.add_argument("--config", action="append", help="ganforge config(s); default dcgan_fashion")
    parser.add_argument("--out", default="runs/quality_at_budget")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows: dict[str, dict[str, float]] = {}
    for spec in args.config or ["dcgan_fashion"]:
        rows[f"ganforge {spec}"] = run_ganforge(spec, args.budget, args.n, Path(args.out))
        print(f"done: ganforge {spec}", flush=True)
    rows["plain PyTorch DCGAN loop"] = run_plain(args.budget, args.n, args.seed)

    print(f"\nFashion-MNIST 32x32, {args.budget:.0f} s of training each, {args.n} samples scored, "
          f"{torch.get_num_threads()} threads")
    width = max(len(name) for name in rows)
    print(f"{'run':<{width}}  " + "  ".join(f"{c:>15}" for c in COLUMNS))
    for name, row in rows.items():
        print(f"{name:<{width}}  " + "  ".join(f"{row.get(c, float('nan')):>15.4g}" for c in COLUMNS))
    plain_fd = rows["plain PyTorch DCGAN loop"]["fd_fmnist"]
    best = min((r["fd_fmnist"], name) for name, r in rows.items() if name.startswith("ganforge"))
    print(f"best ganforge FD / plain FD = {best[0] / plain_fd:.3f} ({best[1]})")


if __name__ == "__main__":
    main()
