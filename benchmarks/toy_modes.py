"""Mode coverage on the 2-D ring and grid in the shape of PacGAN's Table 1, over several seeds.

Trains a preset once per seed, scores 2,500 samples of each run with the `modes` metric (modes captured,
high-quality share, reverse KL) and prints mean ± standard error over seeds.

    python benchmarks/toy_modes.py [--seeds 5] [--preset toy_ring --preset toy_grid] [override ...]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.cli import preset_path
from ganforge.config import load_config
from ganforge.runner import train
from ganforge.evaluation import evaluate_checkpoint
from ganforge.metrics.modes import summarise_over_seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--preset", action="append", help="default: toy_ring and toy_grid")
    parser.add_argument("--out", default="runs/toy_modes")
    parser.add_argument("overrides", nargs="*", help="config overrides applied to every run")
    args = parser.parse_args()

    for preset in args.preset or ["toy_ring", "toy_grid"]:
        results = []
        for seed in range(args.seeds):
            config = load_config(preset_path(preset), [*args.overrides, f"seed={seed}", "train.progress=false"])
            run = train(config, run_dir=Path(args.out) / f"{preset}-seed{seed}")
            results.append(evaluate_checkpoint(run.checkpoint, "modes", n=2500, progress=False))
        summary = summarise_over_seeds(results)
        cells = "  ".join(f"{key} {mean:.3g} ± {se:.2g}" for key, (mean, se) in summary.items())
        print(f"{preset} ({args.seeds} seeds, {config.train.steps} steps): {cells}", flush=True)


if __name__ == "__main__":
    main()
