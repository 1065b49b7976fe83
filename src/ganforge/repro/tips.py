"""Salimans et al. 2016's tricks at a CPU budget on Fashion-MNIST (the README's "With the tricks" table).

The DCGAN preset trained for the same wall-clock time with one trick switched on at a time: one-sided label
smoothing, the K+1-class discriminator, minibatch discrimination. The paper's numbers are Inception scores
on CIFAR-10, not comparable; the verdict checks its claim that each trick improves the samples: every trick
has a lower FD than the plain DCGAN.
"""
from __future__ import annotations

from pathlib import Path

from . import ReproResult, judge, register_repro
from .common import grid_rows, mean_of, run_grid

VARIANTS = {"DCGAN": "", "smoothing 0.9": "loss.real_label=0.9", "K+1 classes": "model.d_label=classes",
            "MBD 32": "model.mbd_kernels=32"}
KEYS = ["fd_fmnist", "precision", "recall"]  # the table's rows, where the protocol scored them


def protocol(quick: bool) -> dict:
    if quick:
        return {"overrides": ["train.steps=4", "train.sample_every=2", "train.batch_size=16", "model.g_channels=8",
                              "model.d_channels=8"], "seeds": 1, "n": 300, "metrics": "fd_fmnist"}
    return {"overrides": ["train.steps=100000000", "train.time_limit=300", "train.sample_every=500"],
            "seeds": 1, "n": 10_000, "metrics": "fd_fmnist,pr_fmnist"}


def tricks_help(fd: dict[str, float], base: str = "DCGAN") -> bool:
    return all(value < fd[base] for name, value in fd.items() if name != base)


@register_repro("tips", "Salimans et al. 2016, Improved techniques for training GANs",
                "label smoothing, K+1-class D and minibatch discrimination against DCGAN at an equal CPU budget")
def run(out: Path, quick: bool) -> ReproResult:
    p = protocol(quick)
    summary = run_grid(out, "dcgan_fashion", p["overrides"], VARIANTS, p["seeds"], p["metrics"], p["n"])
    fd = {name: mean_of(summary, name, "fd_fmnist") for name in VARIANTS}
    ok = tricks_help(fd)
    text = ("FD (lower is better): " + ", ".join(f"{k} {v:.2f}" for k, v in fd.items())
            + f". Every trick beating the plain DCGAN: {'yes' if ok else 'no'}.")
    return ReproResult(
        name="tips", paper="Salimans et al. 2016 (CIFAR-10 Inception scores; not comparable)",
        protocol=(f"`dcgan_fashion` {' '.join(p['overrides'])}, one variant after the other; "
                  f"{p['seeds']} seed(s); {p['n']:,} samples scored ({p['metrics']})."),
        verdict=judge(quick, ok), summary=text, rows=grid_rows(summary, KEYS), figures=["ablation.png"])
