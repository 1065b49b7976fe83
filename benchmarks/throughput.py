"""DCGAN 32x32 training throughput on this machine: ganforge's step against a plain PyTorch loop.

Prints images/s (real images shown to D per second) at batch 64 for both, the FLOPs per image that one
training step implies (counted by torch's FlopCounterMode: matmuls and convolutions, forward and backward),
the achieved FLOP rate as a fraction of a peak measured here with a large float32 matrix multiply, and the
ratio ganforge / plain. Measurements alternate between the two loops so background load affects both alike.

    python benchmarks/throughput.py [--steps 30] [--rounds 3] [--batch 64]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from plain_dcgan import PlainDCGAN  # noqa: E402

from ganforge.config import make_config  # noqa: E402
from ganforge.data import Dataset  # noqa: E402
from ganforge.engine.training import Training  # noqa: E402


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    """Best float32 FLOP/s of an n x n matrix product over `repeats` tries."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best


def random_images(n: int = 4096) -> Dataset:
    return Dataset(torch.randint(0, 256, (n, 1, 32, 32), dtype=torch.uint8), None, 0, "random")


def ganforge_training(batch: int) -> Training:
    config = make_config({"data": {"name": "fashion-mnist"}, "model": {"name": "dcgan", "z_dim": 100},
                          "train": {"batch_size": batch, "progress": False}})
    return Training(config, random_images(), torch.device("cpu"))


def time_steps(step, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="training steps per timed round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed rounds per loop")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()

    torch.manual_seed(0)
    ours = ganforge_training(args.batch)
    plain = PlainDCGAN()
    data = random_images()
    plain_step = lambda: plain.step(data.batch(torch.randint(len(data), (args.batch,)))[0])  # noqa: E731

    with FlopCounterMode(display=False) as counter:
        ours.train_step()
    flops_per_image = counter.get_total_flops() / args.batch
    with FlopCounterMode(display=False) as counter:
        plain_step()
    plain_flops_per_image = counter.get_total_flops() / args.batch

    for _ in range(3):  # warm-up
        ours.train_step()
        plain_step()
    ours_s, plain_s = [], []
    for _ in range(args.rounds):
        ours_s.append(time_steps(ours.train_step, args.steps))
        plain_s.append(time_steps(plain_step, args.steps))
    images = args.steps * args.batch
    ours_rate = images / min(ours_s)
    plain_rate = images / min(plain_s)
    peak = matmul_peak()

    print(f"threads: {torch.get_num_threads()}, batch {args.batch}, {args.steps} steps x {args.rounds} rounds "
          f"(best round)")
    print(f"matmul peak (float32, 2048^3):      {peak / 1e9:8.1f} GFLOP/s")
    print(f"ganforge DCGAN 32x32:               {ours_rate:8.1f} images/s  "
          f"{flops_per_image / 1e9:.3f} GFLOP/image  {ours_rate * flops_per_image / 1e9:6.1f} GFLOP/s  "
          f"{ours_rate * flops_per_image / peak:5.1%} of peak")
    print(f"plain PyTorch DCGAN loop:           {plain_rate:8.1f} images/s  "
          f"{plain_flops_per_image / 1e9:.3f} GFLOP/image  {plain_rate * plain_flops_per_image / 1e9:6.1f} GFLOP/s  "
          f"{plain_rate * plain_flops_per_image / peak:5.1%} of peak")
    print(f"ratio ganforge / plain (images/s):  {ours_rate / plain_rate:8.3f}")


if __name__ == "__main__":
    main()
