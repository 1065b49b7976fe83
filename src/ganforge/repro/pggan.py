"""Karras et al. 2017's claims at a CPU budget: growing trains better than the final networks from the start in
the same time, and minibatch stddev makes the samples more varied (the README's 900 s table).

Verdict: the growing run's FD below the non-growing one's, and MS-SSIM without minibatch stddev above the run
with it (less varied). The paper's numbers are CelebA/LSUN SWD and MS-SSIM at up to 1024x1024.
"""
from __future__ import annotations

from pathlib import Path

from . import ReproResult, judge, register_repro
from .common import grid_rows, mean_of, run_grid

VARIANTS = {"PGGAN": "", "no growing": "growth.stable_images=[]", "no minibatch stddev": "model.mbstd_group=0"}
KEYS = ["fd_fmnist", "swd", "msssim"]  # the table's rows, where the protocol scored them


def protocol(quick: bool) -> dict:
    if quick:
        return {"overrides": ["train.steps=6", "train.sample_every=3", "growth.stable_images=32",
                              "growth.batch_sizes=[]", "train.batch_size=16", "model.g_channels=8",
                              "model.d_channels=8"], "seeds": 1, "n": 300, "metrics": "fd_fmnist,msssim"}
    return {"overrides": ["train.steps=1000000", "train.time_limit=900", "growth.stable_images=8000",
                          "train.sample_every=200"], "seeds": 3, "n": 5000, "metrics": "swd,fd_fmnist,msssim"}


def claims_hold(fd_grow: float, fd_flat: float, msssim_mbstd: float, msssim_none: float) -> bool:
    return fd_grow < fd_flat and msssim_mbstd < msssim_none


@register_repro("pggan", "Karras et al. 2017, Tables 1-2 (growing, minibatch stddev)",
                "growing vs the final networks from the start vs no minibatch stddev, equal wall-clock time")
def run(out: Path, quick: bool) -> ReproResult:
    p = protocol(quick)
    summary = run_grid(out, "pggan_fashion", p["overrides"], VARIANTS, p["seeds"], p["metrics"], p["n"])
    fd = {name: mean_of(summary, name, "fd_fmnist") for name in VARIANTS}
    ms = {name: mean_of(summary, name, "msssim") for name in VARIANTS}
    ok = claims_hold(fd["PGGAN"], fd["no growing"], ms["PGGAN"], ms["no minibatch stddev"])
    text = ("FD: " + ", ".join(f"{k} {v:.2f}" for k, v in fd.items()) + "; MS-SSIM (lower = more varied): "
            + ", ".join(f"{k} {v:.3f}" for k, v in ms.items())
            + f". Growing better than no growing and minibatch stddev more varied: {'yes' if ok else 'no'}.")
    return ReproResult(
        name="pggan", paper="Karras et al. 2017 (CelebA/LSUN; not comparable)",
        protocol=(f"`pggan_fashion` {' '.join(p['overrides'])}; {p['seeds']} seed(s); {p['n']:,} samples "
                  f"scored ({p['metrics']}); EMA generators."),
        verdict=judge(quick, ok), summary=text, rows=grid_rows(summary, KEYS), figures=["ablation.png"])
