"""`pacgan-table1`: PacGAN's Table 1 (Lin et al. 2018) under the protocol of PacGAN's released code.

Protocol (fjxmlzn/PacGAN, synthetic_data_experiments: config.py, pacgan_task.py, datasets.py, streams.py):
100,000 points drawn once per run (ring: 8 Gaussians on radius 1, std 0.01; grid: {-4,-2,0,2,4}^2, std
0.05); a dataset row joins m points, each slot an independent draw with replacement from those points;
epochs of shuffled rows in batches of 100 (1,000 iterations), 400 epochs; z is 2-D N(0, I), a fresh draw for
every slot; G 2-400-400-400-400-2 (Linear without bias, batch norm, ReLU; linear output), D three maxout
layers of 200 units x 5 pieces and a Linear to one logit on rows of 2m; weights N(0, 0.02^2), biases 0;
non-saturating loss; D and G take one simultaneous Adam step (lr 1e-4, betas 0.8/0.999) per iteration;
scored on 2,500 samples from a fixed z, G's batch norm in inference mode, with metrics/modes.py; 10 runs,
mean and standard error. Extra rows apply one-sided label smoothing (real target 0.9) to m = 1.

Differences from the released code, all small: batch norm keeps torch's running variance (blocks keeps a
running standard deviation; eps 1e-5 here, 1e-4 there), Adam is torch's (blocks' differs in where eps
enters), and the fixed evaluation z is drawn per run rather than one for all runs.

Every model of one packing degree (both mixtures, every seed, label smoothing) trains as one batched model
(repro/batched.py). `ganforge repro pacgan-table1 --budget SECONDS --out OUT` trains for that long (default
1,200 s, on the GPU when there is one) and is resumable: rerunning it continues from `OUT/state/`, and the
curves, figures and results are rebuilt from what has run (`--budget 0` only rebuilds them). The protocol
table is the released code's, row by row; what is short of it is the length (and, in the quick protocol,
the seeds and packing degrees), so until 400,000 iterations it reads "not run in full".
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..data.toy import TOY_MIXTURES, TOY_SAMPLES, mode_centres, mode_std
from ..errors import ConfigError
from ..fileio import atomic_path
from ..metrics.modes import mode_coverage, summarise_over_seeds
from ..registry import DATASETS
from .base import DIFFERS, SAME, ReproResult, Row, Setting, amount, device_name, register_repro
from .batched import BatchedPacGAN, Stepper

PAPER = "Lin et al. 2018, PacGAN, Table 1 (10 runs, mean ± standard error)"
POINTS, BATCH, EVAL_SAMPLES = 100_000, 100, TOY_SAMPLES
ITERATIONS_PER_EPOCH = POINTS // BATCH
FULL_ITERATIONS = 400 * ITERATIONS_PER_EPOCH
LR, BETAS, INIT_STD, SMOOTHED_TARGET = 1e-4, (0.8, 0.999), 0.02, 0.9
MIXTURES = ("ring", "grid")
EARLY_EVALS = (10, 20, 50, 100, 200, 500)   # extra evaluation points, so short CPU runs still show a trend
METRICS = ("modes", "high_quality", "reverse_kl")

# Table 1 of the paper (also synthetic_data_experiments/results/Table1.png in its repository):
# (mixture, variant) -> {metric: (mean, standard error)}; high quality as a share in [0, 1].
PAPER_TABLE = {
    ("ring", "GAN"): {"modes": (6.3, 0.5), "high_quality": (0.982, 0.002), "reverse_kl": (0.45, 0.09)},
    ("ring", "PacGAN2"): {"modes": (7.9, 0.1), "high_quality": (0.956, 0.020), "reverse_kl": (0.07, 0.03)},
    ("ring", "PacGAN3"): {"modes": (7.8, 0.1), "high_quality": (0.977, 0.003), "reverse_kl": (0.10, 0.02)},
    ("ring", "PacGAN4"): {"modes": (7.8, 0.1), "high_quality": (0.959, 0.014), "reverse_kl": (0.07, 0.02)},
    ("grid", "GAN"): {"modes": (17.3, 0.8), "high_quality": (0.948, 0.007), "reverse_kl": (0.70, 0.07)},
    ("grid", "PacGAN2"): {"modes": (23.8, 0.7), "high_quality": (0.913, 0.008), "reverse_kl": (0.13, 0.04)},
    ("grid", "PacGAN3"): {"modes": (24.6, 0.4), "high_quality": (0.942, 0.004), "reverse_kl": (0.06, 0.02)},
    ("grid", "PacGAN4"): {"modes": (24.8, 0.2), "high_quality": (0.936, 0.006), "reverse_kl": (0.04, 0.01)},
}


@dataclass(frozen=True)
class Variant:
    """One row of the table: packing degree and the label D is trained towards on real rows."""

    name: str
    pack: int
    real_target: float = 1.0


TRICKS = {"ls": Variant("GAN+LS0.9", 1, SMOOTHED_TARGET)}   # our other tricks that cost nothing extra here


def variants(packs: list[int], tricks: list[str]) -> list[Variant]:
    found = [Variant("GAN" if m == 1 else f"PacGAN{m}", m) for m in packs]
    return found + [TRICKS[t] for t in tricks]


@dataclass
class Settings:
    """What a run folder holds; everything but `iterations` must match when a run is continued."""

    mixtures: list[str]
    packs: list[int]
    seeds: int
    tricks: list[str]
    iterations: int
    eval_every: int


# --- per-model random draws: each depends only on (mixture, seed), never on what else is batched ---------

def _seed(mixture: str, seed: int, stream: int, epoch: int = 0) -> int:
    return ((MIXTURES.index(mixture) * 1_000 + seed) * 16 + stream) * 1_000_003 + epoch


def draw_points(mixture: str, seed: int) -> torch.Tensor:
    """The run's 100,000 data points `[N, 2]`, drawn once (data/toy.py, PacGAN's mixtures)."""
    return DATASETS.get(mixture)(DataConfig(name=mixture, num_samples=POINTS, seed=_seed(mixture, seed, 0))).samples


def draw_slot_rows(mixture: str, seed: int, pack: int) -> torch.Tensor:
    """`[m, N]`: dataset row r packs points slot_rows[0, r], ..., slot_rows[m-1, r], each slot an independent
    draw with replacement, as PacGAN's GaussianPackingMixture builds its rows."""
    generator = torch.Generator().manual_seed(_seed(mixture, seed, 1))
    return torch.randint(POINTS, (pack, POINTS), generator=generator)


def draw_epoch(mixture: str, seed: int, pack: int, epoch: int,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The epoch's row order `[N]` and its latents `[iterations, m, B, 2]` (a fresh z for every slot)."""
    generator = torch.Generator(device=device).manual_seed(_seed(mixture, seed, 2, epoch))
    order = torch.randperm(POINTS, generator=generator, device=device)
    z = torch.randn(ITERATIONS_PER_EPOCH, pack, BATCH, 2, generator=generator, device=device)
    return order, z


def draw_eval_z(mixture: str, seed: int) -> torch.Tensor:
    """The fixed latents `[2500, 2]` the run is scored on."""
    return torch.randn(EVAL_SAMPLES, 2, generator=torch.Generator().manual_seed(_seed(mixture, seed, 3)))


def draw_init(mixture: str, seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(_seed(mixture, seed, 4))


# --- one batched model per packing degree ------------------------------------------------------------------

class Group:
    """All models with packing degree `pack`: keys (mixture, variant name, seed), trained as one."""

    def __init__(self, pack: int, keys: list[tuple[str, str, int]], targets: list[float], device: torch.device,
                 cuda_graph: bool = True, log=print):
        self.pack, self.keys, self.device = pack, keys, device
        model = BatchedPacGAN(len(keys), pack)
        model.init_weights([draw_init(mixture, seed) for mixture, _, seed in keys], INIT_STD)
        self.model = model.to(device)
        self.capturable = cuda_graph and device.type == "cuda"
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR, betas=BETAS, capturable=self.capturable)
        self.targets = torch.tensor(targets, device=device)[:, None]
        self.stepper = Stepper(self.model, self.optimizer, self.targets, (len(keys), BATCH, 2 * pack),
                               (len(keys), pack, BATCH, 2), self.capturable, log=log)
        self.points = torch.stack([draw_points(m, s) for m, _, s in keys]).to(device)            # [S, N, 2]
        self.slot_rows = torch.stack([draw_slot_rows(m, s, pack) for m, _, s in keys]).to(device)  # [S, m, N]
        self.eval_z = torch.stack([draw_eval_z(m, s) for m, _, s in keys]).to(device)
        self.iteration, self._epoch, self._rows, self._z = 0, -1, None, None

    @property
    def name(self) -> str:
        return f"pack{self.pack}"

    def _load_epoch(self, epoch: int) -> None:
        draws = [draw_epoch(m, s, self.pack, epoch, self.device) for m, _, s in self.keys]
        order = torch.stack([d[0] for d in draws])                                         # [S, N]
        rows = torch.gather(self.slot_rows, 2, order[:, None].expand(-1, self.pack, -1))  # [S, m, N]
        packed = torch.gather(self.points, 1, rows.reshape(len(self.keys), -1, 1).expand(-1, -1, 2))
        self._rows = packed.view(len(self.keys), self.pack, POINTS, 2).permute(0, 2, 1, 3) \
            .reshape(len(self.keys), POINTS, 2 * self.pack)                                  # [S, N, 2m]
        self._z = torch.stack([d[1] for d in draws])                                       # [S, it, m, B, 2]
        self._epoch = epoch

    def batch(self, iteration: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Packed real rows `[S, B, 2m]` and latents `[S, m, B, 2]` of `iteration` (0-based)."""
        epoch, step = divmod(iteration, ITERATIONS_PER_EPOCH)
        if epoch != self._epoch:
            self._load_epoch(epoch)
        return self._rows[:, step * BATCH:(step + 1) * BATCH], self._z[:, step]

    def train(self, until: int, deadline: float) -> None:
        """Train up to iteration `until` or until `time.time()` passes `deadline` (a host clock read: no
        device sync, so the GPU may still be finishing queued steps when this returns)."""
        while self.iteration < until:
            if time.time() > deadline:
                break
            self.stepper(*self.batch(self.iteration))
            self.iteration += 1

    @torch.no_grad()
    def samples(self) -> np.ndarray:
        """`[S, 2500, 2]` from each model's fixed z, batch norm in inference mode."""
        return self.model.generate(self.eval_z, train=False).float().cpu().numpy()

    def state_dict(self) -> dict:
        return {"pack": self.pack, "keys": [list(k) for k in self.keys], "iteration": self.iteration,
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if state["pack"] != self.pack or [tuple(k) for k in state["keys"]] != self.keys:
            raise ConfigError(f"the saved state of {self.name} holds other models; use a new --out")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        for group in self.optimizer.param_groups:   # a state saved elsewhere may say otherwise
            group["capturable"] = self.capturable
        if self.capturable:
            for param_state in self.optimizer.state.values():
                param_state["step"] = param_state["step"].to(self.device)
        self.iteration = state["iteration"]


def make_groups(settings: Settings, device: torch.device, cuda_graph: bool = True, log=print) -> list[Group]:
    groups = []
    for pack in sorted(set(settings.packs) | ({1} if settings.tricks else set())):
        chosen = [v for v in variants(settings.packs, settings.tricks) if v.pack == pack]
        keys = [(mixture, v.name, seed) for mixture in settings.mixtures for v in chosen
                for seed in range(settings.seeds)]
        targets = [v.real_target for _ in settings.mixtures for v in chosen for _ in range(settings.seeds)]
        groups.append(Group(pack, keys, targets, device, cuda_graph, log))
    return groups


# --- the run: round robin over groups, evaluation, checkpoints ---------------------------------------------

def _is_eval_point(iteration: int, settings: Settings) -> bool:
    return iteration % settings.eval_every == 0 or iteration in EARLY_EVALS or iteration == settings.iterations


def _next_eval(iteration: int, settings: Settings) -> int:
    candidates = [e for e in EARLY_EVALS if e > iteration]
    candidates += [(iteration // settings.eval_every + 1) * settings.eval_every, settings.iterations]
    return min(c for c in candidates if c > iteration)


def score(group: Group, mixture_info: dict[str, tuple[np.ndarray, float]]) -> list[dict]:
    """One record per model: its modes, high-quality share and reverse KL now (metrics/modes.py)."""
    samples = group.samples()
    records = []
    for (mixture, variant, seed), points in zip(group.keys, samples):
        centres, std = mixture_info[mixture]
        records.append({"iteration": group.iteration, "mixture": mixture, "variant": variant, "seed": seed,
                        **mode_coverage(points, centres, std)})
    return records


def _write_json(path: Path, value) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(value, indent=1))


def _check_settings(out: Path, settings: Settings) -> None:
    path = out / "settings.json"
    if path.exists():
        saved = json.loads(path.read_text())
        mine = asdict(settings)
        differ = [k for k in mine if k != "iterations" and saved.get(k) != mine[k]]
        if differ:
            raise ConfigError(f"{out} holds a run with other settings ({', '.join(differ)}: "
                              f"{[saved.get(k) for k in differ]}); continue it with those or use a new --out")
    _write_json(path, asdict(settings))


def mixture_info() -> dict[str, tuple[np.ndarray, float]]:
    return {m: (mode_centres(DataConfig(name=m)).numpy(), mode_std(DataConfig(name=m))) for m in MIXTURES}


def run_protocol(settings: Settings, out: Path, time_limit: float, device: torch.device,
                 checkpoint_every: float = 300.0, log=print, cuda_graph: bool = True) -> dict:
    """Train every group towards `settings.iterations` for at most `time_limit` seconds, resuming from
    `out/state/`; evaluate at the evaluation points and at the stop; return the curves and the speed."""
    out.mkdir(parents=True, exist_ok=True)
    _check_settings(out, settings)
    info = mixture_info()
    groups = make_groups(settings, device, cuda_graph, log)
    for group in groups:
        path = out / "state" / f"{group.name}.pt"
        if path.exists():
            group.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    reached = {g.name: g.iteration for g in groups}
    curves_path = out / "curves.json"
    curves = json.loads(curves_path.read_text()) if curves_path.exists() else []
    # records written after a group's last checkpoint belong to training that is being redone
    packs_of = {v.name: v.pack for v in variants(settings.packs, settings.tricks)}
    curves = [r for r in curves if r["iteration"] <= reached[f"pack{packs_of[r['variant']]}"]]
    start = time.time()
    deadline, last_save = start + time_limit, start
    spent = {g.name: 0.0 for g in groups}

    def save(group: Group) -> None:
        with atomic_path(out / "state" / f"{group.name}.pt") as tmp:
            torch.save(group.state_dict(), tmp)

    def evaluate(group: Group) -> None:
        if not any(r["iteration"] == group.iteration and packs_of[r["variant"]] == group.pack for r in curves):
            curves.extend(score(group, info))
            _write_json(curves_path, curves)

    if not curves and all(g.iteration == 0 for g in groups):
        for group in groups:
            evaluate(group)
    while time.time() < deadline:
        pending = [g for g in groups if g.iteration < settings.iterations]
        if not pending:
            break
        group = min(pending, key=lambda g: g.iteration)   # round robin: the group furthest behind goes next
        began, before = time.perf_counter(), group.iteration
        group.train(_next_eval(group.iteration, settings), deadline)
        evaluate(group)                                    # moves samples to the host: the time includes the sync
        spent[group.name] += time.perf_counter() - began
        log(f"{group.name}: iteration {group.iteration} ({group.iteration - before} in "
            f"{time.perf_counter() - began:.1f} s)")
        if time.time() - last_save > checkpoint_every:
            for g in groups:
                save(g)
            last_save = time.time()
    for group in groups:
        evaluate(group)
        if group.iteration != reached[group.name] or not (out / "state" / f"{group.name}.pt").exists():
            save(group)
    speed = {g.name: {"iterations": g.iteration - reached[g.name], "seconds": round(spent[g.name], 2),
                      "models": len(g.keys),
                      "iterations_per_second": (g.iteration - reached[g.name]) / spent[g.name]
                      if spent[g.name] > 0 else None} for g in groups}
    return {"curves": curves, "speed": speed, "iterations": {g.name: g.iteration for g in groups},
            "samples": {g.name: g.samples() for g in groups}, "groups": groups}


# --- tables, figures, criterion ------------------------------------------------------------------------------

def final_summaries(curves: list[dict]) -> dict[tuple[str, str], dict]:
    """(mixture, variant) -> {"iteration", "seeds", metric: (mean, standard error)} at its last evaluation."""
    summaries = {}
    keys = sorted({(r["mixture"], r["variant"]) for r in curves}, key=lambda k: (MIXTURES.index(k[0]), _order(k[1])))
    for key in keys:
        mine = [r for r in curves if (r["mixture"], r["variant"]) == key]
        last = max(r["iteration"] for r in mine)
        at_last = [{m: r[m] for m in METRICS} for r in mine if r["iteration"] == last]
        with np.errstate(invalid="ignore"):   # an infinite KL (no high-quality sample) has no spread
            summary = summarise_over_seeds(at_last) if len(at_last) > 1 else \
                {m: (at_last[0][m], math.nan) for m in METRICS}
        summaries[key] = {"iteration": last, "seeds": len(at_last), **summary}
    return summaries


def _order(name: str) -> tuple[bool, str]:
    """Table order: GAN, PacGAN2, PacGAN3, ..., then the extra tricks."""
    return "+" in name, name


def _curve(curves: list[dict], mixture: str, variant: str, metric: str) -> tuple[list, list, list]:
    points = sorted({r["iteration"] for r in curves if (r["mixture"], r["variant"]) == (mixture, variant)})
    means, errors = [], []
    for it in points:
        values = np.array([r[metric] for r in curves
                           if (r["mixture"], r["variant"], r["iteration"]) == (mixture, variant, it)])
        values = np.where(np.isfinite(values), values, np.nan)   # no high-quality sample: KL undefined
        means.append(np.nanmean(values) if np.isfinite(values).any() else np.nan)
        errors.append(np.nanstd(values, ddof=1) / math.sqrt(np.isfinite(values).sum())
                      if np.isfinite(values).sum() > 1 else 0.0)
    return points, means, errors


def plot_curves(curves: list[dict], mixture: str, path: Path) -> Path:
    from ..viz import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    names = sorted({r["variant"] for r in curves if r["mixture"] == mixture}, key=_order)
    for colour, name in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], names):
        for ax, metric in zip(axes, METRICS):
            x, mean, err = _curve(curves, mixture, name, metric)
            scale = 100 if metric == "high_quality" else 1
            mean, err = np.array(mean) * scale, np.array(err) * scale
            ax.plot(x, mean, color=colour, label=name, marker=".")
            ax.fill_between(x, mean - err, mean + err, color=colour, alpha=0.2)
            paper = PAPER_TABLE.get((mixture, name))
            if paper:
                ax.axhline(paper[metric][0] * scale, color=colour, linestyle="--", linewidth=0.8)
    for ax, title in zip(axes, ("modes captured", "high-quality samples (%)", "reverse KL (nats)")):
        ax.set_title(f"{mixture}: {title}")
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, title="mean ± s.e.; dashed: paper", title_fontsize=7)
    return save_figure(plt, fig, path)


def plot_samples(samples: dict[tuple[str, str], np.ndarray], mixture: str, iteration: dict[str, int],
                 path: Path) -> Path:
    from ..viz import pyplot, save_figure

    plt = pyplot()
    names = sorted((v for m, v in samples if m == mixture), key=_order)
    fig, axes = plt.subplots(1, len(names), figsize=(3 * len(names), 3.2), squeeze=False)
    centres = mode_centres(DataConfig(name=mixture)).numpy()
    limit = TOY_MIXTURES[mixture].extent
    for ax, name in zip(axes[0], names):
        points = samples[(mixture, name)]
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, linewidths=0)
        ax.scatter(centres[:, 0], centres[:, 1], marker="x", c="tab:red", s=20)
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_aspect("equal")
        ax.set_title(f"{name}, seed 0, it {iteration[name]}", fontsize=8)
        ax.tick_params(labelsize=6)
    return save_figure(plt, fig, path)


def packing_helps(summaries: dict) -> tuple[bool, str]:
    """The paper's claim at each variant's last evaluation: every PacGANm captures more modes and has a lower
    reverse KL than GAN on the same mixture."""
    packed = [(mix, name) for mix, name in summaries if name.startswith("PacGAN") and (mix, "GAN") in summaries]
    failures = [f"{mix} {name}" for mix, name in packed
                if not (summaries[(mix, name)]["modes"][0] > summaries[(mix, "GAN")]["modes"][0]
                        and summaries[(mix, name)]["reverse_kl"][0] < summaries[(mix, "GAN")]["reverse_kl"][0])]
    if not packed:
        return False, "no PacGANm beside GAN to compare"
    if failures:
        return False, "packing did not beat GAN on both modes and reverse KL for " + ", ".join(failures)
    return True, "every PacGANm captured more modes with a lower reverse KL than GAN"


CODE = "PacGAN's released code (synthetic_data_experiments)"


def table(result: ReproResult) -> list[Setting]:
    """PacGAN's Table 1 protocol (its released code) beside the settings and iterations the run recorded
    (without them: the declared full protocol, nothing run)."""
    settings = result.extra.get("settings") or asdict(full_settings())
    least = min(result.extra.get("iterations", {}).values(), default=0)
    packs = sorted(settings["packs"])
    return [
        Setting("data", "ring (8 Gaussians, radius 1, std 0.01) and grid (25, std 0.05); 100,000 points a run",
                f"{CODE}: datasets.py, config.py", ", ".join(settings["mixtures"]),
                SAME if sorted(settings["mixtures"]) == sorted(MIXTURES) else DIFFERS, "a subset of the mixtures"),
        Setting("packing degrees", "m = 1 (GAN), 2, 3, 4", "Lin et al. 2018, Table 1", f"m = {packs}",
                SAME if packs == [1, 2, 3, 4] else DIFFERS, "a subset of the packing degrees"),
        Setting("architecture", "G 2-400-400-400-400-2 with batch norm; D 3 maxout layers of 200 x 5 pieces",
                f"{CODE}: pacgan_task.py", "the same (repro/batched.py)", SAME),
        Setting("loss", "non-saturating", f"{CODE}: pacgan_task.py", "non-saturating", SAME),
        Setting("optimiser", "Adam lr 1e-4, betas 0.8 / 0.999; one simultaneous D and G step",
                f"{CODE}: config.py", f"Adam lr {LR:g}, betas {BETAS[0]:g} / {BETAS[1]:g} (torch's)", SAME),
        Setting("batch", "100 rows", f"{CODE}: config.py", f"{BATCH} rows", SAME),
        amount("length", f"{FULL_ITERATIONS:,} iterations (400 epochs of 1,000)", f"{CODE}: config.py",
               f"{least:,} iterations (the least of any packing degree)", least, FULL_ITERATIONS, None,
               "the budget ran out; the paper reports only the end"),
        amount("seeds", "10 runs", "Lin et al. 2018, Table 1", f"{settings['seeds']} runs", settings["seeds"], 10),
        Setting("metric", "modes, high-quality share, reverse KL of 2,500 samples", "Lin et al. 2018, Table 1",
                "the same (metrics/modes.py)", SAME),
    ]


def build_result(settings: Settings, run: dict, out: Path, device: torch.device, time_limit: float) -> ReproResult:
    curves = run["curves"]
    summaries = final_summaries(curves)
    rows = []
    labels = {"modes": "modes", "high_quality": "high quality (%)", "reverse_kl": "reverse KL"}
    for (mixture, name), s in summaries.items():
        paper = PAPER_TABLE.get((mixture, name), {})
        for metric in METRICS:
            scale = 100 if metric == "high_quality" else 1
            mean, se = s[metric]
            ref = paper.get(metric)
            note = f"mean ± s.e. over {s['seeds']} seeds at iteration {s['iteration']:,}" \
                + (f"; paper ± {ref[1] * scale:g} at 400,000" if ref else "; not in the paper")
            if not math.isfinite(mean):   # JSON has no infinity; say why instead
                note += "; a seed had no high-quality sample, so its reverse KL is undefined"
            rows.append(Row(what=f"{mixture} {name}: {labels[metric]}",
                            ours=round(mean * scale, 4) if math.isfinite(mean) else "inf",
                            paper=None if ref is None else round(ref[0] * scale, 4),
                            spread=round(se * scale, 4) if math.isfinite(se) else None, note=note))
    figures = []
    group_of = {k: g for g in run["groups"] for k in g.keys}
    iteration = {name: run["iterations"][f"pack{group_of[(mixture, name, 0)].pack}"] for mixture, name in summaries}
    for mixture in settings.mixtures:
        figures.append(plot_curves(curves, mixture, out / f"pacgan_curves_{mixture}.png").name)
        seed0 = {}
        for group in run["groups"]:
            for k, points in zip(group.keys, run["samples"][group.name]):
                if k[0] == mixture and k[2] == 0:
                    seed0[(mixture, k[1])] = points
        figures.append(plot_samples(seed0, mixture, iteration, out / f"pacgan_samples_{mixture}.png").name)
    holds, why = packing_helps(summaries)
    speed = run["speed"]
    protocol = (f"PacGAN's released protocol (see repro/pacgan.py), {settings.seeds} seeds batched per packing "
                f"degree, m in {settings.packs}, mixtures {settings.mixtures}, tricks {settings.tricks or 'none'}; "
                f"target {settings.iterations:,} iterations, this invocation limited to {time_limit:g} s on "
                f"{device.type}{' (TF32 matmuls)' if device.type == 'cuda' else ''}"
                f"{', steps replayed as CUDA graphs' if any(g.stepper.graph for g in run['groups']) else ''}"
                f"; iterations reached: "
                + ", ".join(f"{k} {v:,}" for k, v in run["iterations"].items()))
    summary = f"At each variant's last evaluation {why}. " + "; ".join(
        f"{mix} {name} at {s['iteration']:,}: {s['modes'][0]:.1f} modes, {100 * s['high_quality'][0]:.1f}% HQ, "
        f"KL {s['reverse_kl'][0]:.2f}" for (mix, name), s in summaries.items())
    return ReproResult(name="pacgan-table1", paper=PAPER, protocol=protocol, holds=holds, summary=summary,
                       rows=rows, figures=figures, device=device_name(),
                       extra={"speed": speed, "iterations": run["iterations"], "settings": asdict(settings)})


def reproduce(settings: Settings, out: Path, time_limit: float, device: torch.device,
              checkpoint_every: float = 300.0, log=print, cuda_graph: bool = True) -> ReproResult:
    """Run (or continue) the protocol for `time_limit` seconds, then rebuild results and figures."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    run = run_protocol(settings, out, time_limit, device, checkpoint_every, log, cuda_graph)
    result = build_result(settings, run, out, device, time_limit)
    _write_json(out / "speed.json", run["speed"])
    return result


def full_settings() -> Settings:
    return Settings(list(MIXTURES), [1, 2, 3, 4], 10, ["ls"], FULL_ITERATIONS, ITERATIONS_PER_EPOCH)


@register_repro("pacgan-table1", PAPER,
                "PacGAN Table 1 on ring and grid, m = 1..4, 10 seeds batched, PacGAN's released protocol "
                "(--budget: seconds of training, 1,200 by default; resumable)", table, budget=1200.0)
def run(out_dir: Path, quick: bool, budget: float | None) -> ReproResult:
    if quick:
        settings = Settings(list(MIXTURES), [1, 2], 2, [], 20, 10)
        return reproduce(settings, Path(out_dir), math.inf, torch.device("cpu"), log=lambda _: None)
    settings = full_settings()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return reproduce(settings, Path(out_dir), budget, device)
