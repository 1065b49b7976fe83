"""The tutorial's mode-collapse snapshots (Goodfellow 2016, Figure 22): Metz et al. 2016's Figure 1, under
the protocol of their appendix A: samples of a 2-D ring of Gaussians over training, the plain GAN against
the unrolled GAN, with PacGAN's packing and one-sided label smoothing as extra rows under the same protocol.

Protocol (Metz et al. 2016, appendix A, as issue 20 quotes it; the loss form and the simultaneous updates are
those of the authors' notebook, poolio/unrolled_gan): 8 Gaussians on a circle of radius 2, std 0.02; G z ~
N(0, I_256) -> 128 ReLU -> 128 ReLU -> 2; D input scaled by 1/4 -> 128 ReLU -> one logit; weights orthogonal
with gain 0.8; D minimises the cross-entropy, G the saddle objective (minimax), through D unrolled 10 Adam
steps on the same batch (0 for the plain GAN); Adam lr 1e-4, beta1 0.5; batch 512; 25,000 steps with
snapshots every 5,000. Every variant trains 3 seeds, all models of one unrolling depth and packing degree
batched into one (repro/batched.py), round robin towards the snapshots for `--budget` seconds (30 minutes by
default; on 2 CPU cores that is far short of 25,000 steps, so the full protocol needs a GPU: `ganforge repro
mode-collapse --budget 3600` there; a run does not resume). Minibatch discrimination, a row of the earlier
protocol, has no batched form here and is left out.

Criterion, written from the figure before any full run: at each snapshot a mode *holds samples* when at
least HOLD_SHARE of 2,500 samples from fixed z are high quality on it (within 3 std of its centre, PacGAN's
and Metz et al.'s test). The figure's claim holds when, on a majority of seeds, (a) the unrolled GAN (10
steps) holds all 8 modes at the last snapshot, and (b) the plain GAN holds at most WANDER_MODES modes at every
snapshot after step 0 and the set it holds changes between some two consecutive snapshots (it wanders).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..metrics.modes import HQ_THRESHOLD, nearest_modes
from .base import DIFFERS, NOT_STATED, SAME, UNKNOWN, ReproResult, Row, Setting, amount, register_repro
from .batched import BatchedMetzGAN, metz_step, pack_slots

METZ = "Metz et al. 2016, appendix A"
NOTEBOOK = "the authors' notebook (poolio/unrolled_gan)"
MODES, RADIUS, STD = 8, 2.0, 0.02
Z_DIM, WIDTH, GAIN, D_SCALE = 256, 128, 0.8, 0.25
LR, BETAS, BATCH = 1e-4, (0.5, 0.999), 512
PAPER_STEPS, SNAPSHOT_EVERY, UNROLL = 25_000, 5_000, 10
EVAL_SAMPLES = 2_500
CHUNK = 20              # steps a group trains before the round robin moves on
HOLD_SHARE = 0.01       # a mode holds samples with >= 1% of them (25 of 2,500) high quality on it
WANDER_MODES = 2        # the plain GAN's snapshots in the figure each show one mode; allow two


@dataclass(frozen=True)
class Variant:
    name: str
    unroll: int = 0
    pack: int = 1
    real_target: float = 1.0


VARIANTS = (Variant("GAN"), Variant(f"unrolled{UNROLL}", UNROLL), Variant("unrolled5", 5),
            Variant("PacGAN2", pack=2), Variant("smoothing 0.9", real_target=0.9))


@dataclass(frozen=True)
class Protocol:
    steps: int
    snapshot_every: int
    batch: int
    seeds: int

    @property
    def snapshots(self) -> list[int]:
        return list(range(0, self.steps + 1, self.snapshot_every))


FULL = Protocol(PAPER_STEPS, SNAPSHOT_EVERY, BATCH, 3)
QUICK = Protocol(20, 10, 64, 2)


def centres() -> np.ndarray:
    """The 8 mode centres `[8, 2]`, evenly spaced on the circle of radius 2."""
    angles = 2 * np.pi * np.arange(MODES) / MODES
    return RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def sample_ring(n: int, generator: torch.Generator) -> torch.Tensor:
    """`[n, 2]` draws from the mixture, modes chosen uniformly."""
    index = torch.randint(MODES, (n,), generator=generator)
    return torch.as_tensor(centres(), dtype=torch.float32)[index] + STD * torch.randn(n, 2, generator=generator)


def held_modes(samples: np.ndarray) -> list[int]:
    """The modes holding at least HOLD_SHARE of `samples` `[N, 2]` within HQ_THRESHOLD std of their centre."""
    nearest, distance = nearest_modes(samples.astype(np.float64), centres())
    counts = np.bincount(nearest[distance <= HQ_THRESHOLD * STD], minlength=MODES)
    return [int(k) for k in np.flatnonzero(counts >= HOLD_SHARE * len(samples))]


def unrolled_covers(held: dict[int, list[int]]) -> bool:
    """(a) for one seed: all modes held at the last snapshot. `held`: snapshot step -> modes held."""
    return len(held[max(held)]) == MODES


def plain_wanders(held: dict[int, list[int]]) -> bool:
    """(b) for one seed: at most WANDER_MODES modes at every snapshot after 0, and the set moves."""
    later = [held[s] for s in sorted(held) if s > 0]
    return bool(later) and all(len(h) <= WANDER_MODES for h in later) and \
        any(a != b for a, b in zip(later, later[1:]))


def figure_holds(per_seed: dict[str, list[dict[int, list[int]]]]) -> bool:
    """The criterion: (a) and (b) each on a majority of seeds."""
    def majority(flags: list[bool]) -> bool:
        return sum(flags) > len(flags) / 2
    return majority([unrolled_covers(h) for h in per_seed[f"unrolled{UNROLL}"]]) and \
        majority([plain_wanders(h) for h in per_seed["GAN"]])


class Group:
    """Every (variant, seed) with one unrolling depth and packing degree, trained as one batched model."""

    def __init__(self, keys: list[tuple[Variant, int]], batch: int, device: torch.device):
        self.keys, self.batch, self.device = keys, batch, device
        self.unroll, self.pack = keys[0][0].unroll, keys[0][0].pack
        self.model = BatchedMetzGAN(len(keys), self.pack, Z_DIM, WIDTH, 2, D_SCALE)
        self.model.init_weights([torch.Generator().manual_seed(_seed(v, s, 0)) for v, s in keys], GAIN)
        self.model.to(device)
        self.opt_d = torch.optim.Adam(self.model.discriminator_parameters(), lr=LR, betas=BETAS)
        self.opt_g = torch.optim.Adam(self.model.generator_parameters(), lr=LR, betas=BETAS)
        self.targets = torch.tensor([[v.real_target] for v, _ in keys], device=device)
        self.streams = [torch.Generator().manual_seed(_seed(v, s, 1)) for v, s in keys]
        self.eval_z = torch.stack([torch.randn(EVAL_SAMPLES, Z_DIM, generator=torch.Generator().manual_seed(
            _seed(v, s, 2))) for v, s in keys]).to(device)
        self.step = 0

    def train(self, until: int, deadline: float) -> None:
        while self.step < until and time.time() < deadline:
            real = torch.stack([sample_ring(self.batch * self.pack, g) for g in self.streams])   # [S, m * B, 2]
            real = pack_slots(real.view(len(self.keys), self.pack, self.batch, 2))
            z = torch.stack([torch.randn(self.pack, self.batch, Z_DIM, generator=g) for g in self.streams])
            metz_step(self.model, self.opt_d, self.opt_g, real.to(self.device), z.to(self.device), self.targets,
                      self.unroll)
            self.step += 1

    @torch.no_grad()
    def samples(self) -> np.ndarray:
        return self.model.generate(self.eval_z).cpu().numpy()


def _seed(variant: Variant, seed: int, stream: int) -> int:
    """Each model's own random streams: its seed and the data draws depend on (seed, stream) only, so every
    variant of seed k starts from the same G and D and sees the same data."""
    return (seed * 16 + stream) * 1_000_003


def _label(step: int) -> str:
    return f"{step // 1000}k" if step and step % 1000 == 0 else str(step)


def plot_snapshots(pictures: dict[str, dict[int, np.ndarray]], path: Path) -> Path:
    from ..viz import pyplot, save_figure

    plt = pyplot()
    names = list(pictures)
    steps = sorted({s for p in pictures.values() for s in p})
    fig, axes = plt.subplots(len(names), len(steps), figsize=(1.9 * len(steps), 1.9 * len(names)), squeeze=False)
    ring = centres()
    for row, name in zip(axes, names):
        for ax, step in zip(row, steps):
            points = pictures[name].get(step)
            if points is not None:
                ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.3, linewidths=0)
            ax.scatter(ring[:, 0], ring[:, 1], marker="x", c="tab:red", s=10)
            ax.set_xlim(-3, 3)
            ax.set_ylim(-3, 3)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{name}, {_label(step)}", fontsize=7)
    return save_figure(plt, fig, path)


def table(result: ReproResult) -> list[Setting]:
    """Appendix A beside what ran (`extra["protocol"]`, `extra["reached"]`)."""
    if result.protocol and "protocol" not in result.extra:   # a result of the earlier, toy_ring protocol
        return [Setting("protocol", "Metz et al.'s appendix A", METZ, "the toy_ring preset's ablation grid",
                        DIFFERS, "run before this reproduction followed appendix A")]
    p = result.extra.get("protocol") or vars(QUICK if result.quick else FULL)
    reached = min(result.extra.get("reached", {}).values(), default=0)
    return [
        Setting("data", "8 Gaussians on a circle of radius 2, std 0.02", METZ, f"the same ({MODES}, {RADIUS:g}, "
                f"{STD:g})", SAME),
        Setting("generator", "z ~ N(0, I_256) -> 128 ReLU -> 128 ReLU -> 2, orthogonal init (gain 0.8)", METZ,
                "the same (repro/batched.py)", SAME),
        Setting("discriminator", "input / 4 -> 128 ReLU -> 1, orthogonal init (gain 0.8)", METZ,
                "the same (repro/batched.py)", SAME),
        Setting("loss", "cross-entropy for D; G minimises the saddle objective (minimax) through the unrolled D",
                f"Metz et al. 2016, section 2; {NOTEBOOK}", "the same, D and G updated on one batch at once",
                SAME),
        Setting("optimiser", "Adam, lr 1e-4, beta1 0.5", METZ, f"Adam, lr {LR:g}, beta1 {BETAS[0]:g}", SAME),
        Setting("unrolling", "10 Adam steps of D on the batch, differentiated through", METZ,
                f"{UNROLL} steps (and 5 as an extra row)", SAME),
        amount("batch", "512", METZ, str(p["batch"]), p["batch"], BATCH, None, "the quick protocol"),
        amount("length", f"{PAPER_STEPS:,} steps, snapshots every 5,000", "Metz et al. 2016, Figure 1",
               f"{reached:,} steps to the last snapshot scored", reached, PAPER_STEPS, SNAPSHOT_EVERY / PAPER_STEPS,
               "the time budget ran out"),
        Setting("seeds", NOT_STATED, "", str(p["seeds"]), UNKNOWN),
        Setting("metric", "the samples at each snapshot: which modes hold samples, and whether that set moves",
                "Metz et al. 2016, Figure 1", f"the same, counted: a mode holds samples with >= {HOLD_SHARE:.0%} "
                f"of {EVAL_SAMPLES:,} within 3 std", SAME),
    ]


@register_repro("mode-collapse", "Goodfellow 2016 (NIPS tutorial), Figure 22, after Metz et al. 2016, appendix A",
                "2-D ring snapshots over 25,000 steps: plain GAN against unrolled (10 and 5 steps), PacGAN2 and "
                "smoothing, Metz et al.'s networks, seeds batched (--budget: seconds of training, 1,800 by default)",
                table, budget=1800.0)
def run(out: Path, quick: bool, budget: float | None) -> ReproResult:
    p = QUICK if quick else FULL
    groups: dict[tuple[int, int], list] = {}
    for variant in VARIANTS:
        groups.setdefault((variant.unroll, variant.pack), []).extend((variant, s) for s in range(p.seeds))
    device = torch.device("cuda" if torch.cuda.is_available() and not quick else "cpu")
    built = [Group(keys, p.batch, device) for keys in groups.values()]
    budget = math.inf if budget is None else budget
    deadline = time.time() + budget
    held = {v.name: [dict() for _ in range(p.seeds)] for v in VARIANTS}
    pictures = {v.name: {} for v in VARIANTS}
    seconds = {f"unroll {g.unroll}, pack {g.pack}": 0.0 for g in built}

    def score(group: Group) -> None:
        for (variant, seed), points in zip(group.keys, group.samples()):
            held[variant.name][seed][group.step] = held_modes(points)
            if seed == 0:
                pictures[variant.name][group.step] = points

    for group in built:
        score(group)
    while time.time() < deadline:      # round robin: the group furthest behind trains the next CHUNK steps
        pending = [g for g in built if g.step < p.steps]
        if not pending:
            break
        group = min(pending, key=lambda g: g.step)
        began, target = time.perf_counter(), (group.step // p.snapshot_every + 1) * p.snapshot_every
        group.train(min(target, group.step + CHUNK), deadline)
        seconds[f"unroll {group.unroll}, pack {group.pack}"] += time.perf_counter() - began
        if group.step == target:
            score(group)
    seconds = {k: round(v, 1) for k, v in seconds.items()}
    reached = {v.name: max(held[v.name][0], default=0) for v in VARIANTS}   # the last snapshot scored
    figure = plot_snapshots(pictures, out / "snapshots.png").name
    holds = figure_holds(held) if all(h for hs in held.values() for h in hs) else False
    rows = []
    for v in VARIANTS:
        for snapshot in p.snapshots:
            counts = [len(h[snapshot]) for h in held[v.name] if snapshot in h]
            if counts:
                rows.append(Row(f"{v.name}, step {snapshot:,}: modes holding samples", float(np.mean(counts)), None,
                                float(np.std(counts)) if len(counts) > 1 else None,
                                f"mean ± std over {len(counts)} seeds; per seed {counts}"))
    moved = [plain_wanders(h) for h in held["GAN"]]
    covered = [unrolled_covers(h) for h in held[f"unrolled{UNROLL}"]]
    summary = (f"Unrolled GAN ({UNROLL} steps) holding all 8 modes at its last snapshot: {sum(covered)} of "
               f"{len(covered)} seeds; plain GAN on at most {WANDER_MODES} modes per snapshot and wandering: "
               f"{sum(moved)} of {len(moved)} seeds. The figure's picture {'is' if holds else 'is not'} seen. "
               "snapshots.png: seed 0 of each variant.")
    protocol_text = (f"Metz et al.'s appendix A (see repro/mode_collapse.py) on {device.type}: {p.steps:,} steps, "
                     f"snapshots every {p.snapshot_every:,}, batch {p.batch}, {p.seeds} seeds per variant, variants "
                     + ", ".join(v.name for v in VARIANTS)
                     + (f"; training budget {budget:g} s" if math.isfinite(budget) else "; no time limit")
                     + f"; last snapshot scored: step {min(reached.values()):,}")
    return ReproResult(name="mode-collapse", paper="Goodfellow 2016, Figure 22; Metz et al. 2016, Figure 1 and "
                       "appendix A", protocol=protocol_text, summary=summary, holds=holds, rows=rows,
                       figures=[figure], extra={"protocol": vars(p), "reached": reached, "seconds": seconds,
                                                "steps_trained": {k: g.step for k, g in zip(seconds, built)},
                                                "held": {k: [{str(s): m for s, m in h.items()} for h in hs]
                                                         for k, hs in held.items()}})
