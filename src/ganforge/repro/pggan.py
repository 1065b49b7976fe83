"""Karras et al. 2017's claims at a CPU budget: growing trains better than the final networks from the start in
the same time, and minibatch stddev makes the samples more varied (the README's 900 s table).

Verdict: the growing run's FD below the non-growing one's, and MS-SSIM without minibatch stddev above the run
with it (less varied). The paper's numbers are CelebA/LSUN SWD and MS-SSIM at up to 1024x1024; the protocol
table differs in data, resolution and network width, and trains 1% of the paper's images per phase.
"""
from __future__ import annotations

from pathlib import Path

from .base import DIFFERS, NOT_STATED, SAME, UNKNOWN, ReproResult, Setting, amount, register_repro
from .common import grid_rows, mean_of, preset_value, run_grid

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


KARRAS = "Karras et al. 2017"
PAPER_PHASE_IMAGES = 800_000


def table(result: ReproResult) -> list[Setting]:
    """Karras et al.'s Table 1 protocol beside what the `pggan_fashion` grid ran (`extra["protocol"]`)."""
    p = result.extra.get("protocol") or protocol(result.quick)
    value = lambda key: preset_value("pggan_fashion", p["overrides"], key)  # noqa: E731
    phase, resolution = value("growth.stable_images"), value("data.resolution")
    phase = phase[0] if isinstance(phase, list) else phase
    seconds = value("train.time_limit")
    return [
        Setting("data", "CelebA and LSUN bedroom at 128x128", f"{KARRAS}, section 6, Table 1",
                f"Fashion-MNIST at {resolution}x{resolution}", DIFFERS, "no CelebA or LSUN offline; growing "
                "matters most at high resolution, and 32x32 is three doublings"),
        Setting("architecture", "the paper's G and D, 512 channels at low resolutions", f"{KARRAS}, appendix A, "
                "Table 2", f"pggan family, {value('model.g_channels')} channels halving from 4x4", DIFFERS,
                "CPU scale"),
        Setting("loss", "WGAN-GP with the drift term 0.001", f"{KARRAS}, appendix A.1",
                f"Wasserstein, gp {value('reg.gp'):g}, drift {value('reg.drift'):g}", SAME),
        amount("length", f"{PAPER_PHASE_IMAGES:,} images per phase", f"{KARRAS}, appendix A.1",
               f"{phase:,} images per phase" + (f", {seconds:g} s per variant" if seconds else ""), phase,
               PAPER_PHASE_IMAGES, None, "CPU time"),
        Setting("comparison", "growing against the final networks from the start, over training time",
                f"{KARRAS}, section 6.1, Figure 4", "equal wall-clock time per variant", SAME),
        Setting("seeds", NOT_STATED, "", str(p["seeds"]), UNKNOWN),
        Setting("metric", "SWD per level of the Laplacian pyramid, MS-SSIM", f"{KARRAS}, section 5, Table 1",
                f"{p['metrics']}", SAME if "swd" in p["metrics"] else DIFFERS,
                "" if "swd" in p["metrics"] else "the quick protocol scores no SWD"),
    ]


@register_repro("pggan", "Karras et al. 2017, Tables 1-2 (growing, minibatch stddev)",
                "growing vs the final networks from the start vs no minibatch stddev, equal wall-clock time", table)
def run(out: Path, quick: bool, budget: float | None) -> ReproResult:
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
        holds=ok, summary=text, rows=grid_rows(summary, KEYS), figures=["ablation.png"], extra={"protocol": p})
