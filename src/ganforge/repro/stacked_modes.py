"""Mode coverage at scale: PacGAN's stacked-MNIST experiment (Lin et al. 2018, section 5.2, Table 2, after
VEEGAN) and R3GAN's (Huang et al. 2024, Table 2) on stacked Fashion-MNIST: three independent garments as the
R, G and B channels, 1,000 class-triple modes (data/stacked.py).

Variants, each a set of overrides of the `dcgan_fashion` preset trained through the engine for the same number
of G steps, with 3 seeds: the plain DCGAN; PacGAN2 (`model.pack=2`, D reading two samples' channels joined,
with twice the images a batch so that D sees as many packed rows as the DCGAN sees images, as PacGAN's code
does); minibatch discrimination (the released code's 100 kernels of dimension 5, as in `tips`); and RpGAN
with R1 and R2 (gamma 0.05 each, R3GAN's CIFAR-10 starting value: the input is 3x32x32 as CIFAR-10's), whose
D drops batch norm because a gradient penalty refuses it (`checks.py`). Everything else is the DCGAN's,
Adam(2e-4, 0.5, 0.999) included, so the variants differ only by what they name.

Scoring: each run's generator draws `Protocol.n` samples and the `stacked_modes` metric module's functions
count the modes covered and KL(p || uniform) of their mode histogram (26,000 real test triples score 1,000
and about 0.02: metrics/stacked.py). The registered metric refuses fewer than PacGAN's 26,000 samples, so the
functions are called directly, which lets the CPU and quick protocols score fewer. A run that diverges counts
as failed (R3GAN's "Fail"): 0 modes and the KL of one mode, log 1,000.

Protocols. CPU: about 30 minutes of 2 idle cores. Width 16 at 600 G steps (measured: 75 s for the DCGAN on
one thread of a loaded 2-core machine) and width 32 at 300 steps (93 s) both still drew coloured blobs that
the classifier put in one mode, so the CPU protocol trains width 32 for 800 steps and scores 10,000 samples
per run (2,000 took 20 s on that thread; 26,000 for 12 runs would take some 18 of the 30 minutes). Measured
there, width 32 takes 0.26 s a step for the DCGAN, 0.31 for PacGAN2, 0.42 for minibatch discrimination and
0.53 for RpGAN + R1 + R2; the 800 steps are an estimate for idle cores, not yet timed. With 10,000 samples
all 1,000 modes can be covered, but the KL of a perfectly uniform generator is about 0.05 rather than 0.02.
With CUDA: the paper's width 64 and 26,000 samples at 3,000 steps (DCGAN at batch 64 takes 8 ms a step on an
H200, docs/speed.md). The quick protocol checks the pipeline in under a minute and claims nothing.

Criterion, written before any full run, from the papers' claims (PacGAN Table 2: packing covers more modes
than the DCGAN; R3GAN Table 2: RpGAN + R1 + R2 covers all 1,000): PacGAN2 and RpGAN + R1 + R2 each cover
more modes than the DCGAN (means over seeds) with a lower KL. Minibatch discrimination is reported beside them.
The data are Fashion-MNIST, not MNIST, so the verdict is "protocol differs" whatever the numbers say.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..ablation import (DIVERGED, Job, Summary, Variant, plan, save_comparison_picture, save_summary, summarise,
                        train_guarded)
from ..data.stacked import MODES, mode_index
from ..fileio import atomic_path
from ..generate import generator_sampler, load_generator
from ..metrics.stacked import SAMPLES, channel_classes, mode_scores
from .base import DIFFERS, SAME, UNKNOWN, ReproResult, Row, Setting, amount, register_repro
from .common import QUIET, bundled, grid_rows, preset_value

PRESET = "dcgan_fashion"
LIN = "Lin et al. 2018"
HUANG = "Huang et al. 2024"
CODE = "PacGAN's code (fjxmlzn/PacGAN, stacked_MNIST_experiments/VEEGAN_experiment)"
PAPER_TRIPLES = 128_000            # stacked training images in PacGAN's code (num_training_sample)
PAPER_ITERATIONS = 50 * PAPER_TRIPLES // 64   # 50 epochs at batch 64: 100,000
PAPER_RUNS = 10
PAPER_WIDTH = 64
GAMMA = 0.05
MBD_KERNELS, MBD_DIM = 100, 5
MODES_KEY, KL_KEY = "stacked_modes", "stacked_kl"
FAILED = {MODES_KEY: 0.0, KL_KEY: math.log(MODES)}   # a diverged run: no mode, or all samples in one
CHUNK = 1_000                      # samples generated and classified at a time

DCGAN, PACGAN2, MBD, RPGAN = "DCGAN", "PacGAN2", "minibatch discrimination", "RpGAN + R1 + R2"
# R3GAN's Table 2 on StackedMNIST (MNIST digits, R3GAN's own network): (modes, KL)
R3GAN_TABLE2 = {"RpGAN + R1 + R2": (1000, 0.0781), "GAN + R1 + R2": (693, 0.9270)}


@dataclass(frozen=True)
class Protocol:
    steps: int              # G steps, the same for every variant
    width: int              # model.g_channels = model.d_channels
    batch: int              # images a batch (PacGAN2 takes twice this: as many packed rows)
    seeds: int
    n: int                  # samples scored per run
    triples: int            # stacked training images drawn (data.num_samples)


QUICK = Protocol(steps=2, width=8, batch=16, seeds=2, n=200, triples=2_000)
CPU = Protocol(steps=800, width=32, batch=64, seeds=3, n=10_000, triples=PAPER_TRIPLES)
GPU = Protocol(steps=3_000, width=PAPER_WIDTH, batch=64, seeds=3, n=SAMPLES, triples=PAPER_TRIPLES)


def protocol_for(quick: bool) -> Protocol:
    if quick:
        return QUICK
    return GPU if torch.cuda.is_available() else CPU


def variants(p: Protocol) -> list[Variant]:
    """The grid: the DCGAN and each technique on it, by name and overrides."""
    return [Variant(DCGAN, ()),
            Variant(PACGAN2, ("model.pack=2", f"train.batch_size={2 * p.batch}")),
            Variant(MBD, (f"model.mbd_kernels={MBD_KERNELS}", f"model.mbd_dim={MBD_DIM}")),
            Variant(RPGAN, ("loss.name=rpgan", f"reg.r1={GAMMA:g}", f"reg.r2={GAMMA:g}", "model.d_norm=none"))]


def overrides(p: Protocol) -> list[str]:
    every = max(1, p.steps // 5)
    return ["data.name=stacked-fashion-mnist", f"data.num_samples={p.triples}", f"model.g_channels={p.width}",
            f"model.d_channels={p.width}", f"train.batch_size={p.batch}", f"train.steps={p.steps}",
            f"train.sample_every={every}", f"train.ckpt_every={every}", f"train.log_every={max(1, min(50, every))}"]


def sample_modes(job: Job, n: int, device: str) -> np.ndarray:
    """The mode index `[n]` of each of n samples of the run's generator (fixed seed 0), generated and
    classified CHUNK at a time so that 26,000 RGB samples never sit in memory at once."""
    G = load_generator(job.run_dir, device=device)
    sample = generator_sampler(G, seed=0)
    modes = []
    for start in range(0, n, CHUNK):
        modes.append(mode_index(channel_classes(sample(min(CHUNK, n - start)))).numpy())
    return np.concatenate(modes)


def train_and_score(job: Job, n: int, device: str) -> dict[str, float]:
    """Train (or resume) the run, then score it: the modes covered and KL(p || uniform) of its samples, or
    FAILED when it diverged; kept in the run's result.json, so a rerun skips it."""
    path = job.run_dir / "result.json"
    if path.is_file():
        return json.loads(path.read_text())
    results = mode_scores(sample_modes(job, n, device)) if train_guarded(job) else dict(FAILED)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(results, indent=1))
    return results


def stats(summary: Summary, key: str) -> dict[str, tuple[float, float]]:
    """(mean, std over seeds) of `key` by variant."""
    return {row["name"]: (row["mean"][key], row["std"][key]) for row in summary.variants}


def beats_dcgan(modes: dict[str, tuple[float, float]], kl: dict[str, tuple[float, float]]) -> bool:
    """The criterion: PacGAN2 and RpGAN + R1 + R2 each cover more modes than the DCGAN with a lower KL."""
    return all(modes[v][0] > modes[DCGAN][0] and kl[v][0] < kl[DCGAN][0] for v in (PACGAN2, RPGAN))


def table(result: ReproResult) -> list[Setting]:
    """PacGAN's stacked-MNIST protocol (its code) and R3GAN's loss beside what the grid ran
    (`extra["protocol"]`; without it the declared protocol of its kind)."""
    p = Protocol(**{**asdict(protocol_for(result.quick)), **result.extra.get("protocol", {})})
    value = lambda key, extra=(): preset_value(PRESET, [*overrides(p), *extra], key)  # noqa: E731
    pack = variants(p)[1].overrides
    return [
        Setting("data", "StackedMNIST: three MNIST digits as RGB, 1,000 modes", f"{LIN}, section 5.2; {CODE}",
                "stacked Fashion-MNIST: three training garments as RGB, 1,000 modes (data/stacked.py)", DIFFERS,
                "Fashion-MNIST in place of MNIST: no MNIST offline, and the project's classifier names garments"),
        amount("training images", f"{PAPER_TRIPLES:,} stacked triples", f"{CODE}: config.py",
               f"{value('data.num_samples'):,} triples (data.num_samples), seed 0", value("data.num_samples"),
               PAPER_TRIPLES, None, "the quick protocol's"),
        Setting("architecture", "DCGAN at 28x28: G 512-256-128-64 channels, D 64-512 with batch norm, z of 100",
                f"{CODE}: model.py", f"model.name=dcgan at 32x32 (garments padded), width {p.width}, z of "
                f"{value('model.z_dim')}", DIFFERS,
                "32x32 for the project's DCGAN" + ("" if p.width == PAPER_WIDTH
                                                  else f"; width {p.width} of {PAPER_WIDTH}: CPU time")),
        Setting("latent", "uniform on [-1, 1]^100", f"{CODE}: model.py", "N(0, I)", DIFFERS,
                "ganforge draws z from a standard normal"),
        Setting("packing", "PacDCGAN2: D reads two samples' channels joined, 64 packed rows a batch",
                f"{LIN}, Table 2; {CODE}: model.py", f"model.pack={value('model.pack', pack)}, "
                f"{value('train.batch_size', pack)} images a batch ({value('train.batch_size', pack) // 2} rows)",
                SAME if p.batch == 64 else DIFFERS, f"batch {p.batch}: the quick protocol's"),
        Setting("RpGAN + R1 + R2", "the RpGAN loss with R1 and R2 penalties, on R3GAN's own network",
                f"{HUANG}, section 2, Table 2", f"loss.name=rpgan, reg.r1 = reg.r2 = {GAMMA:g}, on the DCGAN with "
                "no batch norm in D", UNKNOWN),
        Setting("minibatch discrimination", f"{MBD_KERNELS} kernels of dimension {MBD_DIM} (not in PacGAN's "
                "table)", "Salimans et al. 2016's code (openai/improved-gan)",
                f"model.mbd_kernels={value('model.mbd_kernels', variants(p)[2].overrides)}, "
                f"model.mbd_dim={value('model.mbd_dim', variants(p)[2].overrides)}", SAME),
        Setting("optimiser", "Adam lr 2e-4, beta1 0.5", f"{CODE}: config.py",
                f"Adam lr {value('optim.d.lr'):g}, beta1 {value('optim.d.beta1'):g}", SAME),
        Setting("updates", "two G steps per D step (the code runs G's optimiser twice)", f"{CODE}: model.py",
                f"train.n_dis={value('train.n_dis')}: one D step, one G step", DIFFERS,
                "ganforge's loop takes one G step per round"),
        Setting("batch", "64", f"{CODE}: config.py", str(p.batch), SAME if p.batch == 64 else DIFFERS,
                "the quick protocol's"),
        amount("length", f"{PAPER_ITERATIONS:,} iterations (50 epochs of {PAPER_TRIPLES:,} at batch 64)",
               f"{CODE}: config.py", f"{p.steps:,} G steps, every variant", p.steps, PAPER_ITERATIONS, None,
               "CPU time" if p.width != PAPER_WIDTH else "device time"),
        amount("seeds", f"{PAPER_RUNS} runs", f"{CODE}: config.py", str(p.seeds), p.seeds, PAPER_RUNS),
        amount("metric", f"modes covered and KL(p || uniform) of {SAMPLES:,} samples", f"{LIN}, Table 2; {CODE}",
               f"the same of {p.n:,} samples, each channel classified by the Fashion-MNIST classifier "
               "(metrics/stacked.py)", p.n, SAMPLES, None, "scoring time on the CPU"),
    ]


def paper_rows(summary: Summary) -> list[Row]:
    """grid_rows with R3GAN's Table 2 beside RpGAN + R1 + R2, noted as MNIST's."""
    modes, kl = R3GAN_TABLE2[RPGAN]
    rows = grid_rows(summary, [MODES_KEY, KL_KEY], {(RPGAN, MODES_KEY): modes, (RPGAN, KL_KEY): kl})
    for row in rows:
        if row.paper is not None:
            row.note += f"; paper: {HUANG}, Table 2, on StackedMNIST (MNIST digits) with its own network"
    return rows


@register_repro("stacked-modes", f"{LIN}, Table 2 and {HUANG}, Table 2 (StackedMNIST mode coverage)",
                "mode coverage of 1,000 on stacked Fashion-MNIST: DCGAN, PacGAN2, minibatch discrimination, "
                "RpGAN + R1 + R2 at equal steps, 3 seeds (CPU: width 32, 800 steps, 10,000 samples scored; GPU: "
                "width 64, 3,000 steps, 26,000)", table)
def run(out: Path, quick: bool, budget: float | None) -> ReproResult:
    p = protocol_for(quick)
    grid = variants(p)
    jobs = plan(bundled(PRESET), [*QUIET, *overrides(p)], grid, p.seeds, out)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    results = {(job.variant.name, job.seed): train_and_score(job, p.n, device) for job in jobs}
    diverged = [f"{job.variant.name} (seed {job.seed})" for job in jobs if (job.run_dir / DIVERGED).is_file()]
    summary = summarise(grid, p.seeds, results)
    save_summary(summary, out, f"ganforge repro stacked-modes{' --quick' if quick else ''}")
    save_comparison_picture(grid, out)
    modes, kl = stats(summary, MODES_KEY), stats(summary, KL_KEY)
    ok = beats_dcgan(modes, kl)
    best = max(modes, key=lambda name: modes[name][0])
    each = "; ".join(f"{name} {m:.1f} ± {s:.1f} modes, KL {kl[name][0]:.3f} ± {kl[name][1]:.3f}"
                     for name, (m, s) in modes.items())
    text = (f"Modes covered of {MODES:,} and KL(p || uniform) over {p.n:,} samples (mean ± std over {p.seeds} "
            f"seeds) after {p.steps:,} G steps: {each}. Most modes: {best}. "
            + (f"Diverged (scored as 0 modes): {', '.join(diverged)}. " if diverged else "")
            + f"PacGAN2 and RpGAN + R1 + R2 each cover more modes than the DCGAN with a lower KL: "
            f"{'yes' if ok else 'no'}. R3GAN's StackedMNIST numbers (RpGAN + R1 + R2 1,000 modes, KL 0.078; "
            "GAN + R1 + R2 693) are on MNIST digits with its own network.")
    return ReproResult(
        name="stacked-modes", paper=f"{LIN}, Table 2; {HUANG}, Table 2 (StackedMNIST; MNIST, not comparable)",
        protocol=(f"`{PRESET}` {' '.join(overrides(p))}; variants {', '.join(v.name for v in grid)}; {p.seeds} "
                  f"seed(s); {p.n:,} samples scored per run (metrics/stacked.py's functions)."),
        holds=ok, summary=text, rows=paper_rows(summary), figures=["ablation.png"],
        extra={"protocol": asdict(p), "diverged": diverged})
