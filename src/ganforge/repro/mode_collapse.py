"""The tutorial's mode-collapse snapshots (Goodfellow 2016, Figure 22, after Metz et al. 2016): samples of the
2-D ring over training, the plain GAN against its remedies, with PacGAN's Table 1 numbers at the end.

The claim shown: the plain GAN wanders between modes (collapse) while the unrolled GAN covers every mode.
Criterion: the unrolled GAN captures all 8 modes on average over seeds and the plain GAN captures fewer.

The figure is Metz et al. 2016's (Unrolled GANs, Figure 1), whose appendix A gives its protocol; the
`toy_ring` preset run here is PacGAN's ring instead, so the protocol table differs in most rows. The
appendix's values in the table are those issue 20 quotes from it (the paper's text could not be re-read
offline); the loss it writes is left unchecked.
"""
from __future__ import annotations

from pathlib import Path

from . import DIFFERS, NOT_STATED, UNKNOWN, ReproResult, Setting, amount, register_repro
from .common import grid_rows, mean_of, preset_value, run_grid

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


METZ = "Metz et al. 2016, appendix A"
PAPER_STEPS = 25_000    # the figure's last snapshot (snapshots every 5,000 steps)
EFFECT_STEPS = 5_000    # the plain GAN already sits on one mode at the first snapshot after step 0


def table(result: ReproResult) -> list[Setting]:
    """Metz et al.'s appendix A beside what the `toy_ring` grid ran (`extra["protocol"]`)."""
    p = result.extra.get("protocol") or protocol(result.quick)
    value = lambda key: preset_value("toy_ring", p["overrides"], key)  # noqa: E731
    steps, batch, width, lr = (value(k) for k in ("train.steps", "train.batch_size", "model.g_channels",
                                                  "optim.g.lr"))
    unroll = max(int(text.split("=")[1]) for text in VARIANTS.values() if text.startswith("train.unroll="))
    return [
        Setting("data", "8 Gaussians on a circle of radius 2, std 0.02", METZ,
                "PacGAN's ring: 8 Gaussians, radius 1, std 0.01", DIFFERS, "the toy_ring preset is PacGAN's ring"),
        Setting("generator", "z ~ N(0, I_256) -> 128 ReLU -> 128 ReLU -> 2, orthogonal init (gain 0.8)", METZ,
                f"z ~ N(0, I_2) -> 3 x {width} LeakyReLU -> 2 (mlp family)", DIFFERS,
                "the mlp family has no ReLU, orthogonal-init or 256-d z setting here"),
        Setting("discriminator", "input / 4 -> 128 ReLU -> 1", METZ, f"3 x {width} LeakyReLU -> 1", DIFFERS,
                "the mlp family has no input scale or one-layer setting here"),
        Setting("loss", "the plain GAN loss as appendix A writes it (not re-checked)", METZ,
                "non-saturating", UNKNOWN),
        Setting("optimiser", "Adam, lr 1e-4, beta1 0.5", METZ, f"Adam, lr {lr:g}, beta1 0.5", DIFFERS,
                "the preset's DCGAN settings"),
        Setting("batch", "512", METZ, str(batch), DIFFERS, "the preset's batch"),
        Setting("unrolling", "10 steps", METZ + "; Goodfellow 2016, Figure 22", f"{unroll} steps", DIFFERS,
                "5 steps keep the CPU run short"),
        amount("length", f"{PAPER_STEPS:,} steps (snapshots every 5,000)", "Metz et al. 2016, Figure 1",
               f"{steps:,} steps", steps, PAPER_STEPS, EFFECT_STEPS / PAPER_STEPS, "the preset's length"),
        Setting("seeds", NOT_STATED, "", str(p["seeds"]), UNKNOWN),
        Setting("metric", "the samples at each snapshot, by eye: which modes hold samples, and whether that "
                "set moves", "Metz et al. 2016, Figure 1", "modes holding samples at the end (PacGAN's metric)",
                DIFFERS, "the end count cannot show the wandering between snapshots"),
    ]


@register_repro("mode-collapse", "Goodfellow 2016 (NIPS tutorial), Figure 22; PacGAN Table 1 (ring)",
                "2-D ring samples over training: plain GAN against unrolled, PacGAN, minibatch discrimination, "
                "smoothing", table)
def run(out: Path, quick: bool, budget: float | None) -> ReproResult:
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
        holds=ok, summary=text, rows=grid_rows(summary, KEYS, PAPER), figures=["ablation.png"],
        extra={"protocol": p})
