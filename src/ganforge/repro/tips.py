"""Salimans et al. 2016's tricks at a CPU budget on Fashion-MNIST (the README's "With the tricks" table).

The DCGAN preset trained for the same wall-clock time with one trick switched on at a time: one-sided label
smoothing, the K+1-class discriminator, minibatch discrimination. The paper's numbers are Inception scores
on CIFAR-10, not comparable; the verdict checks its claim that each trick improves the samples: every trick
has a lower FD than the plain DCGAN. Its protocol table differs from the paper's in data, design (one trick
added at a time, where Salimans et al.'s Table 3 removes one at a time from the full set) and metric.
"""
from __future__ import annotations

from pathlib import Path

from .base import DIFFERS, NOT_STATED, UNKNOWN, ReproResult, Setting, register_repro
from .common import grid_rows, mean_of, preset_value, run_grid

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


SALIMANS = "Salimans et al. 2016"


def table(result: ReproResult) -> list[Setting]:
    """Salimans et al.'s CIFAR-10 ablation beside what the `dcgan_fashion` grid ran (`extra["protocol"]`)."""
    p = result.extra.get("protocol") or protocol(result.quick)
    value = lambda key: preset_value("dcgan_fashion", p["overrides"], key)  # noqa: E731
    seconds, steps = value("train.time_limit"), value("train.steps")
    length = f"{seconds:g} s of wall-clock per variant (steps vary with the machine's load)" if seconds \
        else f"{steps:,} steps"
    return [
        Setting("data", "CIFAR-10 (for this ablation)", f"{SALIMANS}, section 6.2, Table 3",
                "Fashion-MNIST at 32x32", DIFFERS, "no CIFAR-10 offline"),
        Setting("design", "the full set of techniques, then the full set minus one (-VBN+BN, -L+HA, -HA, -MBF, "
                "-LS)", f"{SALIMANS}, Table 3", "the plain DCGAN plus one trick at a time: "
                + ", ".join(name for name in VARIANTS if name != "DCGAN"), DIFFERS,
                "one trick at a time asks another question than leaving one out"),
        Setting("architecture", NOT_STATED + " in the text (the released code's CIFAR-10 networks)", "",
                f"DCGAN, {value('model.g_channels')} channels", UNKNOWN),
        Setting("length", NOT_STATED, "", length, UNKNOWN),
        Setting("seeds", NOT_STATED, "", str(p["seeds"]), UNKNOWN),
        Setting("metric", "Inception score of 50,000 samples", f"{SALIMANS}, section 4, Table 3",
                f"FD on the Fashion-MNIST classifier's features of {p['n']:,} samples ({p['metrics']})", DIFFERS,
                "the Inception network scores natural images, not Fashion-MNIST"),
    ]


@register_repro("tips", "Salimans et al. 2016, Improved techniques for training GANs",
                "label smoothing, K+1-class D and minibatch discrimination against DCGAN at an equal CPU budget",
                table)
def run(out: Path, quick: bool, budget: float | None) -> ReproResult:
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
        holds=ok, summary=text, rows=grid_rows(summary, KEYS), figures=["ablation.png"], extra={"protocol": p})
