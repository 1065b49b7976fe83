"""Miyato et al. 2018's robustness claim (section 4, Figure 1): on the standard CNN (Table 3), a spectrally
normalised D trains well under every optimiser setting A-F of Table 1, while batch norm, layer norm, weight
norm and WGAN-GP in D degrade under the aggressive ones (high learning rate and momentum: E, F).

Protocol: `model.name=sngan` (the standard CNN, z of 128, G with batch norm), D normalised by one variant:
batch, layer or weight norm (`model.d_norm`) or spectral norm (`model.d_sn`), all with the non-saturating
loss the paper uses for this comparison; WGAN-GP with its own loss (Wasserstein, gradient penalty 10, no
normalisation layer). Adam with each setting's lr, beta1, beta2 and n_dis (SETTINGS); batch 64; Fashion-MNIST
at 32x32 stands in for CIFAR-10 and the Fashion-MNIST Frechet distance (`fd_fmnist`) for the Inception score.
Every (setting, variant) is one run of one grid through the engine (`ganforge.runner.train`); a run that
diverges (a loss or weight no longer finite) counts as failed: its FD is infinite.

Which grid runs depends on where: on a CUDA machine (GPU) settings E and F for batch norm, spectral norm and
WGAN-GP to 10,000 G updates at the paper's width; on the CPU the longest grid that fits about 30 minutes of
2 cores (CPU below: the standard CNN at a quarter of the paper's width, settings C (the DCGAN setting, an
easy one) and F, every normalisation). `--budget SECONDS` caps the training of the whole grid: each run gets
a share as its `train.time_limit`, in proportion to its backward passes per G update (`passes`). The length row states the fewest G updates
any run reached as a fraction of the paper's 100,000.

Criterion, written before any full run: in every hard setting (E, F) the grid ran, spectral norm's FD (mean
over seeds) is the lowest of all variants; where the grid also ran an easy setting, spectral norm's FD in
each hard setting stays within ROBUST times its FD in the easy one (it does not degrade).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..ablation import (DIVERGED, Job, Summary, Variant, plan, save_comparison_picture, save_summary, score_job,
                        summarise, train_guarded, trained_steps)
from .base import DIFFERS, NOT_STATED, SAME, UNKNOWN, ReproResult, Setting, amount, register_repro
from .common import QUIET, bundled, grid_rows, preset_value

MIYATO = "Miyato et al. 2018"
PAPER_G_UPDATES = 100_000
PAPER_WIDTH = 64
HARD = ("E", "F")
ROBUST = 1.5      # SN in a hard setting may score at most this times its FD in the easy one

# Table 1 of the paper: (Adam lr, beta1, beta2, n_dis)
SETTINGS: dict[str, tuple[float, float, float, int]] = {
    "A": (1e-4, 0.5, 0.9, 5), "B": (1e-4, 0.5, 0.999, 1), "C": (2e-4, 0.5, 0.999, 1),
    "D": (1e-3, 0.5, 0.9, 5), "E": (1e-3, 0.5, 0.999, 5), "F": (1e-3, 0.9, 0.999, 5)}

# D's normalisation: the overrides of each variant (the paper's names)
VARIANTS: dict[str, str] = {
    "BN": "loss.name=ns model.d_norm=batch",
    "LN": "loss.name=ns model.d_norm=layer",
    "WN": "loss.name=ns model.d_norm=weight",
    "WGAN-GP": "loss.name=wasserstein reg.gp=10 model.d_norm=none",
    "SN": "loss.name=ns model.d_sn=true model.d_norm=none",
}
PAPER_VARIANTS = ("weight clipping", "WGAN-GP", "BN", "LN", "WN", "orthonormal regularisation", "SN")


@dataclass(frozen=True)
class Protocol:
    settings: tuple[str, ...]
    variants: tuple[str, ...]
    steps: int              # G updates
    width: int              # g_channels = d_channels (the paper's: 64)
    batch: int
    seeds: int
    n: int                  # samples scored
    metrics: str = "fd_fmnist"


QUICK = Protocol(("E",), ("BN", "WGAN-GP", "SN"), steps=2, width=8, batch=16, seeds=1, n=300)
CPU = Protocol(("C", "F"), tuple(VARIANTS), steps=500, width=16, batch=64, seeds=1, n=5000)
GPU = Protocol(HARD, ("BN", "WGAN-GP", "SN"), steps=10_000, width=PAPER_WIDTH, batch=64, seeds=1, n=10_000)


def setting_overrides(name: str) -> list[str]:
    lr, beta1, beta2, n_dis = SETTINGS[name]
    return [f"optim.{net}.{key}={value:g}" for net in "gd" for key, value in
            (("lr", lr), ("beta1", beta1), ("beta2", beta2))] + [f"train.n_dis={n_dis}"]


def base_overrides(p: Protocol) -> list[str]:
    every = max(1, p.steps // 5)
    return ["model.d_sn=false", f"model.g_channels={p.width}", f"model.d_channels={p.width}",
            f"train.batch_size={p.batch}", f"train.steps={p.steps}", f"train.sample_every={every}",
            f"train.ckpt_every={every}", f"train.log_every={max(1, min(50, every))}"]


def passes(setting: str, variant: str) -> int:
    """Backward passes per G update, the cost model of the time shares: n_dis D steps (two with the gradient
    penalty, which differentiates D's gradient again) and one G step."""
    return SETTINGS[setting][3] * (2 if "reg.gp" in VARIANTS[variant] else 1) + 1


def time_limits(p: Protocol, budget: float | None) -> dict[tuple[str, str], str]:
    """Each run's `train.time_limit` override, keyed by (setting, variant): `budget` seconds shared among the
    grid's runs in proportion to `passes`; none without a finite budget."""
    runs = [(s, v) for s in p.settings for v in p.variants]
    if budget is None or not math.isfinite(budget):
        return {run: "" for run in runs}
    unit = budget / (sum(passes(*run) for run in runs) * p.seeds)
    return {run: f"train.time_limit={max(0.1, unit * passes(*run)):.1f}" for run in runs}  # 0 would be no limit


def grid(p: Protocol, budget: float | None = None) -> list[Variant]:
    limits = time_limits(p, budget)
    return [Variant(f"{s}, {v}", tuple(setting_overrides(s) + VARIANTS[v].split() + limits[s, v].split()))
            for s in p.settings for v in p.variants]


def run_guarded(jobs: list[Job], metrics: str, n: int, worst: dict[str, float]) -> dict[tuple[str, int], dict]:
    """Train and score every job through the engine; a run that diverges is a result (`worst`, with the step
    it diverged by in `diverged.json`), not an error that stops the grid."""
    return {(job.variant.name, job.seed): score_job(job, metrics, n) if train_guarded(job) else dict(worst)
            for job in jobs}


def run_safe_grid(out: Path, preset: str, overrides: list[str], variants: list[Variant], seeds: int,
                  metrics: str, n: int, worst: dict[str, float]) -> tuple[Summary, dict[str, int], list[str]]:
    """The grid into `out` (ablation.json, ablation.md, ablation.png) -> (summary, the G updates each
    variant's runs that did not diverge reached at least, the runs that diverged)."""
    jobs = plan(bundled(preset), [*QUIET, *overrides], variants, seeds, out)
    results = run_guarded(jobs, metrics, n, worst)
    summary = summarise(variants, seeds, results)
    command = (f"ganforge ablate {preset} {' '.join(overrides)} "
               + " ".join(f'--variant "{v.name}: {" ".join(v.overrides)}"' for v in variants)
               + f" --seeds {seeds} --metrics {metrics} --n {n}")
    save_summary(summary, out, command)
    save_comparison_picture(variants, out)
    failed = {(job.variant.name, job.seed) for job in jobs if (job.run_dir / DIVERGED).is_file()}
    reached: dict[str, int] = {}
    for job in jobs:
        if (job.variant.name, job.seed) not in failed:   # a diverged run ended by its result, not short of time
            step = trained_steps(job)
            reached[job.variant.name] = min(reached.get(job.variant.name, step), step)
    return summary, reached, [f"{name} (seed {seed})" for name, seed in sorted(failed)]


def _split(fd: dict[tuple[str, str], float]) -> tuple[list[str], list[str]]:
    """The hard and the easy settings of mean FDs keyed by (setting, variant)."""
    settings = sorted({s for s, _ in fd})
    return [s for s in settings if s in HARD], [s for s in settings if s not in HARD]


def sn_best(fd: dict[tuple[str, str], float]) -> bool:
    """In each hard setting, SN's FD is below every other variant's."""
    hard, _ = _split(fd)
    return all(fd[s, "SN"] < value for s in hard for (t, v), value in fd.items() if t == s and v != "SN")


def sn_steady(fd: dict[tuple[str, str], float]) -> bool:
    """In each hard setting, SN's FD is within ROBUST times its FD in each easy one (true with none)."""
    hard, easy = _split(fd)
    return all(fd[h, "SN"] <= ROBUST * fd[e, "SN"] for h in hard for e in easy)


def sn_robust(fd: dict[tuple[str, str], float]) -> bool:
    """The criterion on mean FDs keyed by (setting, variant): SN best in every hard setting, and steady."""
    if not _split(fd)[0] or not any(v == "SN" for _, v in fd):
        raise ValueError("the criterion needs spectral norm in at least one hard setting (E or F)")
    return sn_best(fd) and sn_steady(fd)


def protocol_for(quick: bool) -> Protocol:
    if quick:
        return QUICK
    return GPU if torch.cuda.is_available() else CPU


def _legacy(result: ReproResult) -> bool:
    """A result of the earlier protocol (the DCGAN under setting E), from before `extra["protocol"]`."""
    return bool(result.protocol) and "protocol" not in result.extra


def table(result: ReproResult) -> list[Setting]:
    """Miyato et al.'s CIFAR-10 comparison beside what the grid ran (`extra["protocol"]`, `extra["reached"]`)."""
    if _legacy(result):
        return [Setting("protocol", "the standard CNN under settings A-F", f"{MIYATO}, section 4, Table 1",
                        "the DCGAN of dcgan_fashion under setting E", DIFFERS,
                        "run before this reproduction trained the paper's standard CNN")]
    raw = {**asdict(protocol_for(result.quick)), **result.extra.get("protocol", {})}
    p = Protocol(**{**raw, "settings": tuple(raw["settings"]), "variants": tuple(raw["variants"])})
    reached = min(result.extra.get("reached", {}).values(), default=p.steps)
    value = lambda s, key: preset_value("sngan_fashion", [*base_overrides(p), *setting_overrides(s)], key)  # noqa: E731
    rows = [
        Setting("data", "CIFAR-10 and STL-10", f"{MIYATO}, section 4", "Fashion-MNIST at 32x32", DIFFERS,
                "no CIFAR-10 or STL-10 offline"),
        Setting("architecture", "the standard CNN, G 512-256-128-64 channels, D 64 to 512, z of 128",
                f"{MIYATO}, appendix B, Table 3", f"model.name=sngan, width {p.width}",
                SAME if p.width == PAPER_WIDTH else DIFFERS,
                "" if p.width == PAPER_WIDTH else f"width {p.width} of the paper's {PAPER_WIDTH}: CPU time"),
        Setting("loss", "non-saturating (G), cross-entropy (D); WGAN-GP's own Wasserstein loss and penalty 10",
                f"{MIYATO}, section 4", "loss.name=ns; WGAN-GP: loss.name=wasserstein reg.gp=10", SAME),
        amount("D normalisations compared", ", ".join(PAPER_VARIANTS), f"{MIYATO}, section 4, Figure 1",
               ", ".join(p.variants), len(p.variants), len(PAPER_VARIANTS), None,
               "weight clipping and orthonormal regularisation are left out"),
        amount("optimiser settings", "A-F", f"{MIYATO}, Table 1", ", ".join(p.settings), len(p.settings),
               len(SETTINGS), None, "the settings the claim separates, within the time"),
    ]
    for s in p.settings:
        lr, beta1, beta2, n_dis = SETTINGS[s]
        ours = (f"Adam lr {value(s, 'optim.d.lr'):g}, beta1 {value(s, 'optim.d.beta1'):g}, "
                f"beta2 {value(s, 'optim.d.beta2'):g}, n_dis {value(s, 'train.n_dis')}")
        paper = f"Adam lr {lr:g}, beta1 {beta1:g}, beta2 {beta2:g}, n_dis {n_dis}"
        rows.append(Setting(f"setting {s}", paper, f"{MIYATO}, Table 1", ours, SAME if ours == paper else DIFFERS,
                            "" if ours == paper else "the overrides do not give Table 1's values"))
    rows += [
        Setting("batch", "64", f"{MIYATO}, section 4", str(p.batch), SAME if p.batch == 64 else DIFFERS,
                "" if p.batch == 64 else "the quick protocol's batch"),
        amount("length", f"{PAPER_G_UPDATES:,} G updates", f"{MIYATO}, section 4",
               f"{reached:,} G updates (the fewest any run reached)", reached, PAPER_G_UPDATES, None,
               "CPU time" if p.width != PAPER_WIDTH else "the time budget"),
        Setting("seeds", NOT_STATED, "", str(p.seeds), UNKNOWN),
        Setting("metric", "Inception score (and FID)", f"{MIYATO}, Figure 1, Table 2",
                f"FD on the Fashion-MNIST classifier's features of {p.n:,} samples ({p.metrics})", DIFFERS,
                "the Inception network scores natural images, not Fashion-MNIST"),
    ]
    return rows


@register_repro("sngan-stability", "Miyato et al. 2018, Figure 1 (settings A-F, standard CNN)",
                "the standard CNN's D with batch, layer or weight norm, WGAN-GP or spectral norm under Table 1's "
                "settings (CPU: C and F at width 16; GPU: E and F for BN, WGAN-GP, SN to 10,000 G updates; "
                "--budget: seconds of training, 1,800 by default)", table, budget=1800.0)
def run(out: Path, quick: bool, budget: float | None) -> ReproResult:
    p = protocol_for(quick)
    variants = grid(p, None if quick else budget)
    summary, reached, diverged = run_safe_grid(out, "sngan_fashion", base_overrides(p), variants, p.seeds,
                                               p.metrics, p.n, {"fd_fmnist": math.inf})
    fd = {(s, v): next(row["mean"]["fd_fmnist"] for row in summary.variants if row["name"] == f"{s}, {v}")
          for s in p.settings for v in p.variants}
    ok = sn_robust(fd)
    easy = _split(fd)[1]
    per_setting = "; ".join(f"{s}: " + ", ".join(f"{v} {fd[s, v]:.2f}" for v in p.variants) for s in p.settings)
    text = (f"FD (lower is better; inf: the run diverged) by setting: {per_setting}. "
            + (f"Diverged: {', '.join(diverged)}. " if diverged else "")
            + f"After {min(reached.values(), default=0):,} G updates, spectral norm is the best in every hard "
            f"setting run: {'yes' if sn_best(fd) else 'no'}"
            + (f"; within {ROBUST:g}x of its FD in the easy setting: {'yes' if sn_steady(fd) else 'no'}" if easy
               else "")
            + f". The criterion {'holds' if ok else 'does not hold'}.")
    return ReproResult(
        name="sngan-stability", paper="Miyato et al. 2018, Figure 1 (CIFAR-10 Inception scores; not comparable)",
        protocol=(f"`sngan_fashion` {' '.join(base_overrides(p))}, settings "
                  f"{', '.join(p.settings)} x D {', '.join(p.variants)}; {p.seeds} seed(s); {p.n:,} samples "
                  f"scored ({p.metrics})."),
        holds=ok, summary=text, rows=grid_rows(summary, [p.metrics]), figures=["ablation.png"],
        extra={"protocol": {**asdict(p), "settings": list(p.settings), "variants": list(p.variants)},  # as JSON has it
               "reached": reached, "diverged": diverged})
