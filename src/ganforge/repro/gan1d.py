"""Goodfellow et al. 2014, Figure 1: p_data, p_g and D(x) at the four stages of the paper's illustration.

The stages come from one run of the `gan1d` preset (N(4, 0.5^2) data, k = 5 D steps per G step):
(a) early in training, D partially accurate; (b) from (a), D trained alone towards D* for `CONVERGE` steps
(one G step follows them, negligible at G's learning rate); (c) from (b), a few ordinary G updates;
(d) the run from (a) continued to its end, where the paper has p_g = p_data and D = 1/2. Each stage is an
ordinary run continued through `runner.train`, so the figure shows what `ganforge train gan1d` trains.
Measured per stage: |D - D*| (D* = p_data / (p_data + p_g) from kernel density estimates), the
Kolmogorov-Smirnov distance between p_g and p_data, and mean |D(x) - 1/2| over data samples.

The figure is a schematic: it states no data, networks or length, so most of its protocol table is
"unknown"; its caption does say z is drawn uniformly, where ganforge draws z ~ N(0, I).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch
from scipy.stats import ks_2samp

from ..config import load_config, make_config
from ..data import build_dataset
from ..engine.checkpoint import load_checkpoint, load_state, resolve_checkpoint
from ..evaluation import generator_sampler
from ..generate import load_generator
from ..metrics.optimal_d import discriminator_gap
from ..models import discriminator_probability, rebuild
from ..runner import train
from ..viz import join_pictures, save_density_1d
from .base import DIFFERS, NOT_STATED, SAME, UNKNOWN, ReproResult, Row, Setting, register_repro
from .common import QUIET, bundled

CONVERGE = 500          # D-only steps of stage (b)
KS_MAX = 0.1            # stage (d) reproduces when KS(p_g, p_data) < 0.1 ...
HALF_MAX = 0.1          # ... and mean |D(x) - 1/2| over data samples < 0.1
N = 5000                # samples per stage measurement


def protocol(quick: bool) -> dict[str, int]:
    """Steps of each stage: the preset's 2,000 in full, a few dozen for the tests."""
    if quick:
        return {"a": 10, "b_dis": 20, "c": 3, "d": 30}
    return {"a": 200, "b_dis": CONVERGE, "c": 50, "d": 2000}


def final_stage_reproduces(ks: float, d_half: float) -> bool:
    """The paper's (d): p_g = p_data and D = 1/2, by the criterion KS < KS_MAX and mean |D - 1/2| < HALF_MAX."""
    return ks < KS_MAX and d_half < HALF_MAX


def _continue(source: Path, target: Path, overrides: list[str]) -> Path:
    """Copy run `source` to `target` and train it on under `overrides` (a new train.steps, n_dis...)."""
    shutil.copytree(source, target)
    train(load_config(target / "config.yaml", overrides), resume=target)
    return target


def measure(run_dir: Path, picture: Path, title: str) -> dict[str, float]:
    """Stage statistics of the checkpoint in `run_dir`, and its Figure-1 panel saved as `picture`."""
    path = resolve_checkpoint(run_dir)
    payload = load_checkpoint(path)
    config = make_config(payload["config"])
    G = load_generator(path)
    D = rebuild(payload["models"], "discriminator")
    load_state(D, payload["discriminator"], "discriminator", str(path))
    d = discriminator_probability(D)
    fake = generator_sampler(G, seed=1)(N).reshape(-1)
    dataset = build_dataset(config.data)
    real = dataset.batch(torch.randperm(len(dataset), generator=torch.Generator().manual_seed(2))[:N])[0]
    real = real.reshape(-1)
    gap = discriminator_gap(d, real, fake)
    stats = {"step": payload["step"], **gap, "ks": float(ks_2samp(real.numpy(), fake.numpy()).statistic),
             "d_half": float(np.abs(d(real).numpy() - 0.5).mean()),
             "g_mean": float(fake.mean()), "g_std": float(fake.std())}
    save_density_1d(fake[:, None], picture, real=real[:, None], discriminator=d, title=title)
    return stats


GOODFELLOW = "Goodfellow et al. 2014"


def table(result: ReproResult) -> list[Setting]:
    """Figure 1's caption and Algorithm 1 beside the `gan1d` preset (its stages from `extra["steps"]`)."""
    steps = result.extra.get("steps") or protocol(result.quick)
    config = load_config(bundled("gan1d"))
    return [
        Setting("data", NOT_STATED + " (a drawn 1-D density)", f"{GOODFELLOW}, Figure 1",
                f"N({config.data.mean:g}, {config.data.std:g}^2)", UNKNOWN),
        Setting("z", "uniform ('in this case')", f"{GOODFELLOW}, Figure 1 caption",
                f"N(0, 1), {config.model.z_dim}-d", DIFFERS, "ganforge draws z ~ N(0, I) only"),
        Setting("networks", NOT_STATED, "", f"MLPs of width {config.model.g_channels}, depth {config.model.depth}",
                UNKNOWN),
        Setting("loss", "minimax; G maximising log D(G(z)) in practice", f"{GOODFELLOW}, section 3",
                config.loss.name, SAME if config.loss.name == "ns" else DIFFERS),
        Setting("D steps per G step (k)", "k = 1 in the paper's experiments; the figure states none",
                f"{GOODFELLOW}, Algorithm 1", f"k = {config.train.n_dis}; (b): {steps['b_dis']} D steps", UNKNOWN),
        Setting("length", NOT_STATED, "", f"{steps['d']:,} steps to (d)", UNKNOWN),
        Setting("metric", "none (the figure is a drawing)", f"{GOODFELLOW}, Figure 1",
                "KS(p_g, p_data) and mean |D - 1/2| at (d); |D - D*| per stage", UNKNOWN),
    ]


@register_repro("gan1d", "Goodfellow et al. 2014, Figure 1",
                "p_data, p_g and D(x) at stages (a)-(d) of 1-D training, with |D - D*| measured per stage", table)
def run(out: Path, quick: bool, budget: float | None) -> ReproResult:
    steps = protocol(quick)
    runs = out / "runs"
    if runs.exists():
        shutil.rmtree(runs)  # a rerun starts afresh: continued stages are copies of earlier ones
    common = [*QUIET, f"train.sample_every={max(1, steps['d'] // 4)}", f"train.ckpt_every={steps['d']}"]
    a = runs / "a"
    train(load_config(bundled("gan1d"), [*common, f"train.steps={steps['a']}"]), run_dir=a)
    b = _continue(a, runs / "b", [f"train.n_dis={steps['b_dis']}", f"train.steps={steps['a'] + 1}"])
    n_dis = load_config(a / "config.yaml").train.n_dis  # (b) stored its own n_dis: (c) goes back to the preset's
    c = _continue(b, runs / "c", [f"train.n_dis={n_dis}", f"train.steps={steps['a'] + 1 + steps['c']}"])
    d = _continue(a, runs / "d", [f"train.steps={steps['d']}"])
    captions = {"a": "(a) early", "b": f"(b) D trained alone {steps['b_dis']} steps",
                "c": f"(c) after {steps['c']} G updates", "d": "(d) end of training"}
    stages = {}
    for name, run_dir in zip("abcd", (a, b, c, d)):
        stages[name] = measure(run_dir, out / f"stage_{name}.png", captions[name])
    join_pictures([out / f"stage_{name}.png" for name in "abcd"], out / "figure1.png",
                  [f"{captions[k]}, step {s['step']}: mean |D - D*| {s['d_gap_mean']:.3f}"
                   for k, s in stages.items()])
    rows = []
    for name, s in stages.items():
        rows += [Row(f"({name}) mean |D - D*|", s["d_gap_mean"], None, note=f"step {s['step']}"),
                 Row(f"({name}) max |D - D*|", s["d_gap_max"], None, note="where the mixture > 1% of its peak"),
                 Row(f"({name}) KS(p_g, p_data)", s["ks"], 0.0 if name == "d" else None,
                     note="the paper's (d): p_g = p_data" if name == "d" else ""),
                 Row(f"({name}) mean |D(x) - 1/2| on data", s["d_half"], 0.0 if name == "d" else None,
                     note="the paper's (d): D = 1/2" if name == "d" else "")]
    final = stages["d"]
    ok = final_stage_reproduces(final["ks"], final["d_half"])
    summary = (f"At the end (step {final['step']}) p_g has mean {final['g_mean']:.3f} and std {final['g_std']:.3f} "
               f"(data: 4, 0.5), KS distance {final['ks']:.3f}, and D is {final['d_half']:.3f} from 1/2 on average "
               f"over the data; criterion KS < {KS_MAX} and mean |D - 1/2| < {HALF_MAX}: "
               f"{'met' if ok else 'not met'}. D trained alone (b) is {stages['b']['d_gap_mean']:.3f} from D* "
               f"on average, against {stages['a']['d_gap_mean']:.3f} at (a).")
    return ReproResult(
        name="gan1d", paper="Goodfellow et al. 2014, Figure 1",
        protocol=(f"`gan1d` preset (N(4, 0.5^2), MLP G and D of width 64, k = 5, batch 256): (a) {steps['a']} "
                  f"steps; (b) (a) + {steps['b_dis']} D steps and one G step; (c) (b) + {steps['c']} steps; "
                  f"(d) (a) continued to {steps['d']} steps. {N} samples per stage; D* from Gaussian KDEs. "
                  "The paper's figure has no numbers: the rows give 0 where it states p_g = p_data, D = 1/2."),
        holds=ok, summary=summary, rows=rows, figures=["figure1.png"], extra={"stages": stages, "steps": steps})
