"""Karras et al. 2017's growing claim (section 6.1, Figure 4; scored as in Table 1): at equal training time,
progressive growing (4x4 up to the final resolution) gives better images than the final networks trained at
the final resolution from the start, by the sliced Wasserstein distance (SWD) per Laplacian-pyramid level.

Data: elpv (the optional elpv-dataset package, 2,362 greyscale solar-cell images to train on, 262 held out),
the only real image set above 32x32 this project has offline. It trains from, and scores against, .npz copies
in the output folder (`elpv_train_R.npz`, `elpv_test_R.npz`): written from the package when absent, or
carried there (a GPU machine has no package: benchmarks/gpu_prepare.sh makes them, gpu_repros.sh puts them
there). On the CPU the protocol is the `pggan_elpv` preset at 64x64; on CUDA it is 128x128 with the paper's
widths. Every run of both variants gets the same wall-clock share of `--budget`; a run that did not finish
is trained again from the start on a rerun (so each has one uninterrupted share), finished runs are kept.

Criterion, fixed before the full runs: growing holds when, in every seed, the growing run reached the final
resolution within its share, and its SWD (mean over the pyramid levels, against the held-out images, mean
over seeds) is below the fixed networks'. MS-SSIM among samples (10,000 pairs; the real images' own value
beside it) is reported as Table 1 does, not judged.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..ablation import Job, Summary, Variant, plan, save_comparison_picture, save_summary, summarise
from ..config import DataConfig
from ..data.elpv import write_elpv_npz
from ..engine.checkpoint import load_checkpoint
from ..errors import DataError
from ..fileio import atomic_path
from ..data import build_dataset
from ..generate import generator_sampler, load_generator
from ..metrics.context import draw
from ..metrics.msssim import msssim_diversity
from ..metrics.suite import MSSSIM_PAIRS, SWD_MIN_SIDE
from ..metrics.swd import sliced_wasserstein
from ..runner import train
from .base import DIFFERS, NOT_STATED, SAME, UNKNOWN, ReproResult, Row, Setting, amount, register_repro
from .common import QUIET, bundled, grid_rows, preset_value

PRESET = "pggan_elpv"
GROWING, FIXED = "growing", "no growing"
VARIANTS = (Variant(GROWING, ()), Variant(FIXED, ("growth.stable_images=[]",)))
KARRAS = "Karras et al. 2017"
PAPER_PHASE_IMAGES = 800_000
PAPER_WIDTHS = ("model.z_dim=512", "model.g_channels=512", "model.d_channels=512", "model.halve_from=32")
PREPARE = "bash benchmarks/gpu_prepare.sh"


@dataclass(frozen=True)
class Protocol:
    resolution: int
    phase_images: int         # images per fade-in and per stabilising phase of the growing run
    seeds: int
    overrides: tuple[str, ...]
    steps: int = 1_000_000    # never reached when a run has a time share: the share ends it
    metrics: str = "swd,msssim"

    def as_dict(self) -> dict:
        return {"resolution": self.resolution, "phase_images": self.phase_images, "seeds": self.seeds,
                "overrides": list(self.overrides), "steps": self.steps, "metrics": self.metrics}


# CPU: the preset as it is, 64x64 (64 channels halving from 8x8), 800 images per phase (0.1% of the paper's),
# so the growing run reaches 64x64 after 7,200 images (about 2 minutes on one thread of the loaded 2-core
# machine, where a 64x64 step takes 0.65 s), two seeds, 390 s per run by default. CUDA: 128x128 with the
# paper's widths, 800 images per phase too (128x128 after 8,800 images), one seed: the GPU runbook gives it
# well under a minute (benchmarks/gpu_repros.sh). Quick: 16x16 (reached after 4 of its 8 steps), SWD only
# (MS-SSIM's 10,000 pairs take longer than the training).
CPU = Protocol(64, 800, 2, ())
GPU = Protocol(128, 800, 1, ("data.resolution=128", *PAPER_WIDTHS, "train.sample_every=250"))
QUICK = Protocol(16, 8, 1, ("data.resolution=16", "model.z_dim=16", "model.g_channels=8", "model.d_channels=8",
                            "train.batch_size=8", "train.sample_every=4", "train.log_every=4"), 8, "swd")


def protocol(quick: bool, cuda: bool) -> Protocol:
    return QUICK if quick else GPU if cuda else CPU


def data_files(out: Path, resolution: int) -> dict[str, Path]:
    """The training and held-out images the runs use: `out/elpv_{train,test}_R.npz`, written from the
    elpv-dataset package when not there already (carried in, or from an earlier run)."""
    files = {split: out / f"elpv_{split}_{resolution}.npz" for split in ("train", "test")}
    for split, path in files.items():
        if not path.is_file():
            try:
                write_elpv_npz(path, resolution, split)
            except DataError as exc:
                raise DataError(f"{exc}; or put {path.name} into {out} ({PREPARE} makes it)") from None
    return files


def run_overrides(p: Protocol, train_file: Path, share: float) -> list[str]:
    return [*QUIET, "data.name=npz", f"data.root={train_file}", f"growth.stable_images={p.phase_images}",
            f"train.steps={p.steps}", f"train.time_limit={share:g}", *p.overrides]


def score(job: Job, held_out: torch.Tensor, metrics: str, device: str) -> dict[str, float]:
    """SWD per level of as many samples of the run's EMA generator as `held_out` holds (`[N, 1, R, R]` in
    [-1, 1]) against them, and MS-SSIM among the samples (with "msssim" in `metrics`), the metric modules'
    functions as `ganforge eval` computes them; with the resolution its growth had reached (`reached`) and the
    real images it had shown (`images`). Kept in the run's result.json."""
    path = job.run_dir / "result.json"
    if path.is_file():
        return json.loads(path.read_text())
    G = load_generator(job.run_dir, device=device)
    growth = G.growth                                        # [stage, alpha]: where growing had got to
    reached = 4 * 2 ** (growth.active - 1 if growth.fading else growth.active)
    fake = generator_sampler(G, seed=0)(len(held_out))
    results = sliced_wasserstein(held_out, fake, seed=0, min_resolution=SWD_MIN_SIDE)
    if "msssim" in metrics.split(","):
        results["msssim"] = msssim_diversity(fake.to(device), pairs=MSSSIM_PAIRS, seed=0)   # on the GPU if any
    steps = int(load_checkpoint(job.run_dir)["step"])
    results.update(reached=float(reached), steps=float(steps), images=float(steps * job.config.train.batch_size))
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(results, indent=1))
    return results


def growing_holds(swd_growing: float, swd_fixed: float, reached: list[float], resolution: int) -> bool | None:
    """The criterion: None when some growing run never reached `resolution` (the comparison would be of a
    smaller image), else whether growing's mean SWD is below the fixed networks'."""
    if any(r < resolution for r in reached):
        return None
    return swd_growing < swd_fixed


def plot_levels(summary: Summary, levels: list[str], path: Path) -> Path:
    """swd_levels.png: SWD per pyramid level (and their mean), one bar per variant, std over seeds."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    width = 0.8 / len(summary.variants)
    for k, variant in enumerate(summary.variants):
        x = np.arange(len(levels)) + k * width
        ax.bar(x, [variant["mean"][key] for key in levels], width, yerr=[variant["std"][key] for key in levels],
               label=variant["name"], capsize=3)
    ax.set_xticks(np.arange(len(levels)) + width * (len(summary.variants) - 1) / 2,
                  [f"{key[4:]}x{key[4:]}" if key != "swd" else "mean" for key in levels])
    ax.set_ylabel("SWD x1e3 vs held-out (lower is better)")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        fig.savefig(file, format="png", dpi=110)
    plt.close(fig)
    return path


def table(result: ReproResult) -> list[Setting]:
    """Karras et al.'s growing comparison beside what ran (`extra["protocol"]`, the `pggan_elpv` preset)."""
    p = result.extra.get("protocol") or protocol(result.quick, False).as_dict()
    overrides = [f"growth.stable_images={p['phase_images']}", *p["overrides"]]
    value = lambda key: preset_value(PRESET, overrides, key)  # noqa: E731
    resolution, batch = value("data.resolution"), value("train.batch_size")
    widths = (value("model.z_dim"), value("model.g_channels"), value("model.halve_from"))
    adam = (value("optim.g.lr"), value("optim.g.beta1"), value("optim.g.beta2"))
    share = result.extra.get("share")
    return [
        Setting("data", "CelebA and LSUN bedroom (Table 1); CelebA-HQ (Figure 4)", f"{KARRAS}, section 6, "
                "Table 1, Figure 4", f"elpv, {result.extra.get('train_images', 2362):,} greyscale solar-cell "
                "images", DIFFERS, "no CelebA or LSUN offline; elpv is the real image set above 32x32 at hand"),
        Setting("resolution", "128x128 (Table 1, Figure 4 a-b)", f"{KARRAS}, section 6.1", f"{resolution}x{resolution}",
                SAME if resolution == 128 else DIFFERS, "" if resolution == 128 else
                f"CPU time: {resolution}x{resolution} ({int(np.log2(resolution)) - 2} doublings, the paper's 5)"),
        Setting("architecture", "z 512; 512 channels up to 32x32, halving above", f"{KARRAS}, appendix A.1, "
                "Table 2", f"z {widths[0]}; {widths[1]} channels up to {widths[2]}x{widths[2]}, halving above",
                SAME if widths == (512, 512, 32) else DIFFERS, "CPU scale"),
        Setting("loss", "WGAN-GP (lambda 10) with the drift term 0.001", f"{KARRAS}, appendix A.1",
                f"Wasserstein, gp {value('reg.gp'):g}, drift {value('reg.drift'):g}",
                SAME if (value("reg.gp"), value("reg.drift")) == (10.0, 0.001) else DIFFERS),
        Setting("optimiser", "Adam lr 0.001, beta1 0, beta2 0.99", f"{KARRAS}, appendix A.1",
                f"Adam lr {adam[0]:g}, beta1 {adam[1]:g}, beta2 {adam[2]:g}",
                SAME if adam == (1e-3, 0.0, 0.99) else DIFFERS),
        Setting("batch", "16 from 4x4 to 128x128", f"{KARRAS}, appendix A.1", str(batch),
                SAME if batch == 16 else DIFFERS, "" if batch == 16 else "the quick protocol's batch"),
        amount("growing schedule", f"{PAPER_PHASE_IMAGES:,} images per fade-in and per stabilising phase",
               f"{KARRAS}, appendix A.1", f"{p['phase_images']:,} images per phase", p["phase_images"],
               PAPER_PHASE_IMAGES, None, "CPU time" if resolution < 128 else "the GPU runbook's minutes"),
        Setting("comparison", "growing against the same final networks from the start, at equal training time",
                f"{KARRAS}, section 6.1, Figure 4", f"equal wall-clock share per run, {share:g} s each" if share
                else "equal steps (quick)", SAME if share else DIFFERS,
                "" if share else "the quick protocol trains a fixed number of steps"),
        Setting("seeds", NOT_STATED, "", str(p["seeds"]), UNKNOWN),
        Setting("metric", "SWD per pyramid level, 16,384 images; MS-SSIM over 10,000 pairs",
                f"{KARRAS}, section 5, Table 1, appendix D", f"{p.get('metrics', 'swd,msssim')} against "
                f"{result.extra.get('test_images', 262)} held-out images, as many samples", DIFFERS,
                "elpv holds out 262 images; SWD depends on the count, so values compare only within this run"),
    ]


@register_repro("pggan", f"{KARRAS}, section 6.1, Figure 4 / Table 1 (growing vs the final networks)",
                "growing 4x4 -> 64x64 (CPU) or 128x128 (CUDA) vs the final networks from the start, on elpv at "
                "equal wall-clock; SWD per level, MS-SSIM (--budget: seconds of training, all runs)",
                table, budget=1560.0)
def run(out: Path, quick: bool, budget: float | None) -> ReproResult:
    cuda = torch.cuda.is_available()
    p = protocol(quick, cuda)
    files = data_files(out, p.resolution)
    runs = len(VARIANTS) * p.seeds
    share = 0.0 if quick or budget is None else budget / runs
    overrides = run_overrides(p, files["train"], share)
    jobs = plan(bundled(PRESET), overrides, list(VARIANTS), p.seeds, out)
    test = build_dataset(DataConfig(name="npz", root=str(files["test"]), resolution=p.resolution, channels=1))
    held_out = draw(test, len(test), seed=0)                  # every held-out image, [N, 1, R, R] in [-1, 1]
    with np.load(files["train"]) as archive:
        train_images = int(archive["x"].shape[0])
    device = "cuda" if cuda else "cpu"
    results = {}
    for job in jobs:
        if not (job.run_dir / "result.json").is_file():
            shutil.rmtree(job.run_dir, ignore_errors=True)   # an unfinished run starts again: one whole share
            train(job.config, run_dir=job.run_dir)
        results[job.variant.name, job.seed] = score(job, held_out, p.metrics, device)
    summary = summarise(list(VARIANTS), p.seeds, results)
    command = f"ganforge repro pggan{' --quick' if quick else f' --budget {budget:g}'}"
    save_summary(summary, out, command)
    save_comparison_picture(list(VARIANTS), out)
    levels = sorted((k for k in results[GROWING, 0] if k.startswith("swd_")), key=lambda k: -int(k[4:])) + ["swd"]
    plot_levels(summary, levels, out / "swd_levels.png")
    mean = {v["name"]: v["mean"] for v in summary.variants}
    reached = [results[GROWING, s]["reached"] for s in range(p.seeds)]
    holds = growing_holds(mean[GROWING]["swd"], mean[FIXED]["swd"], reached, p.resolution)
    per_level = "; ".join(f"{name}: " + ", ".join(f"{k[4:]} {m[k]:.1f}" for k in levels[:-1]) + f", mean {m['swd']:.1f}"
                          for name, m in mean.items())
    real_msssim = (msssim_diversity(held_out.to(device), pairs=MSSSIM_PAIRS, seed=0) if "msssim" in mean[GROWING]
                   else None)
    diversity = ("MS-SSIM among samples (lower is more varied): " + ", ".join(
        f"{name} {m['msssim']:.3f}" for name, m in mean.items()) + f" (held-out images {real_msssim:.3f}). "
        if real_msssim is not None else "")
    text = (f"SWD x1e3 against the held-out images per level ({per_level}). {diversity}Images shown per run: "
            + ", ".join(f"{name} {m['images']:,.0f}" for name, m in mean.items()) + ". "
            + ("A growing run did not reach the final resolution in its share, so nothing is judged."
               if holds is None else f"Growing {'beats' if holds else 'does not beat'} the fixed networks "
               "by mean SWD at equal time."))
    return ReproResult(
        name="pggan", paper=f"{KARRAS}, growing at equal time (CelebA-HQ/LSUN SWD; not comparable)",
        protocol=(f"`{PRESET}` {' '.join(overrides[len(QUIET):])}; variants {GROWING} and {FIXED} "
                  f"(growth.stable_images=[]); {p.seeds} seed(s); each run {share:g} s of wall-clock"
                  if share else f"`{PRESET}` {' '.join(overrides[len(QUIET):])}; {p.seeds} seed(s)")
                 + f"; scored ({p.metrics}) against {len(test)} held-out images; EMA generators.",
        holds=holds, summary=text, rows=grid_rows(summary, [*levels, "msssim", "images", "reached"])
        + ([Row("held-out images: msssim", real_msssim)] if real_msssim is not None else []),
        figures=["ablation.png", "swd_levels.png"],
        extra={"protocol": p.as_dict(), "share": share, "test_images": len(test), "train_images": train_images,
               "reached": reached})
