"""Seconds each metric takes for 10k vs 10k 32x32 images on this machine, and the metrics' floor.

The "generated" set is 10k Fashion-MNIST *test* images and the reference 10k *training* images, so the
values printed are each metric's floor: what a generator that samples the data distribution exactly would
score at this sample size. Classifier feature extraction is timed once, apart from the metrics that share it.

    python benchmarks/metrics.py [--n 10000] [--metrics fd_fmnist,kd_fmnist,pr_fmnist,classes,swd,msssim,parzen]
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.metrics import METRICS
from ganforge.metrics.context import EvalContext, draw, tensor_sampler
from ganforge.metrics.parzen import parzen_evaluation
from ganforge.metrics.suite import PARZEN_VALIDATION


def parzen_floor(context: EvalContext, test_images: torch.Tensor) -> dict[str, float]:
    train = context.draw(context.real_dataset, len(test_images) + PARZEN_VALIDATION, offset=5)
    flat = [((x.flatten(1) + 1) / 2).numpy() for x in (train[PARZEN_VALIDATION:], train[:PARZEN_VALIDATION],
                                                       test_images)]
    return parzen_evaluation(*flat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--metrics", default="fd_fmnist,kd_fmnist,pr_fmnist,classes,swd,msssim,parzen")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = DataConfig(name="fashion-mnist", resolution=32)
    test_images = draw(build_dataset(dataclasses.replace(data, split="test")), args.n, args.seed + 100)
    context = EvalContext(tensor_sampler(test_images), data, args.n, seed=args.seed, cache_dir=None)
    print(f"threads: {torch.get_num_threads()}; {args.n} test images against {args.n} training images")
    start = time.perf_counter()
    context.real_classified, context.fake_classified  # noqa: B018  (compute and keep both)
    print(f"{'classifier features (both sets)':<34} {time.perf_counter() - start:7.1f} s")
    for name in [m for m in args.metrics.split(",") if m]:
        start = time.perf_counter()
        results = parzen_floor(context, test_images) if name == "parzen" else METRICS.get(name).compute(context)
        seconds = time.perf_counter() - start
        values = "  ".join(f"{key}={value:.4g}" for key, value in results.items())
        print(f"{name:<34} {seconds:7.1f} s   {values}")


if __name__ == "__main__":
    main()
