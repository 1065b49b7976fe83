"""The tutorial's mode-collapse snapshots (Goodfellow 2016, Figure 22, after Metz et al. 2016): samples of the
2-D ring over training, the plain GAN against its remedies, with PacGAN's Table 1 numbers at the end.

The claim shown: the plain GAN wanders between modes (collapse) while the unrolled GAN covers every mode.
Verdict: the unrolled GAN captures all 8 modes on average over seeds and the plain GAN captures fewer.
"""
from __future__ import annotations

from pathlib import Path

from . import ReproResult, judge, register_repro
from .common import grid_rows, mean_of, run_grid

VARIANTS = {"GAN": "", "unrolled5": "train.unroll=5", "PacGAN2": "model.pack=2",
            "MBD 8x5": "model.mbd_kernels=8 model.mbd_dim=5", "smoothing 0.9": "loss.real_label=0.9"}
NAMED = ", ".join(f"{name} ({text or 'defaults'})" for name, text in VARIANTS.items())
KEYS = ["modes", "high_quality", "reverse_kl"]
# PacGAN (Lin et al. 2018), Table 1, 2-D ring: modes, high-quality share, reverse KL
PAPER = {("GAN", "modes"): 6.3, ("GAN", "high_quality"): 0.982, ("GAN", "reverse_kl"): 0.45,
         ("PacGAN2", "modes"): 7.9, ("PacGAN2", "high_quality"): 0.956, ("PacGAN2", "reverse_kl"): 0.07}


def protocol(quick: bool) -> dict:
    if quick:
        return {"overrides": ["train.steps=40", "train.sample_every=10", "train.batch_size=64",
                              "model.g_channels=32", "model.d_channels=32"], "seeds": 1, "n": 500}
    return {"overrides": ["train.sample_every=500"], "seeds": 3, "n": 2500}


def collapse_shown(unrolled_modes: float, gan_modes: float, total: int = 8) -> bool:
    return unrolled_modes >= total and gan_modes < unrolled_modes


@register_repro("mode-collapse", "Goodfellow 2016 (NIPS tutorial), Figure 22; PacGAN Table 1 (ring)",
                "2-D ring samples over training: plain GAN against unrolled, PacGAN, minibatch discrimination, "
                "smoothing")
def run(out: Path, quick: bool) -> ReproResult:
    p = protocol(quick)
    summary = run_grid(out, "toy_ring", p["overrides"], VARIANTS, p["seeds"], "modes", p["n"])
    gan, unrolled = mean_of(summary, "GAN", "modes"), mean_of(summary, "unrolled5", "modes")
    ok = collapse_shown(unrolled, gan)
    text = (f"At the end the plain GAN captures {gan:.1f} of 8 modes and the unrolled GAN {unrolled:.1f} (mean "
            f"over {p['seeds']} seed(s)); the tutorial's picture (unrolled covers all, plain collapses) "
            f"{'is' if ok else 'is not'} seen. ablation.png: each variant's seed-0 samples over training.")
    return ReproResult(
        name="mode-collapse", paper="Goodfellow 2016, Figure 22 (after Metz et al. 2016); PacGAN, Table 1",
        protocol=(f"`toy_ring` (8 Gaussians, MLPs, batch 256, 3,000 steps unless overridden) "
                  f"{' '.join(p['overrides'])}; variants {NAMED}; "
                  f"{p['seeds']} seed(s); {p['n']:,} samples scored with PacGAN's mode metric. The paper rows "
                  "are PacGAN's, after far longer training."),
        verdict=judge(quick, ok), summary=text, rows=grid_rows(summary, KEYS, PAPER),
        figures=["ablation.png"])
