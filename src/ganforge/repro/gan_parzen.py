"""Goodfellow et al. 2014, Table 1: the Parzen-window log-likelihood protocol, on Fashion-MNIST.

The paper fits a Gaussian Parzen window to 10,000 generated samples, picks its width on a validation
split and reports the mean log-likelihood of the test set with its standard error (MNIST: 225 ± 2).
There is no MNIST offline here and no published Fashion-MNIST number, so the rows put a trained DCGAN
beside a shortly trained one and beside the training data itself scored the same way (the ceiling), and the
verdict checks only what the protocol must show: longer training scores higher (by more than twice the
combined standard error) and stays below the data's own score. Its protocol table differs from the paper's
in data (no MNIST or TFD offline) and networks.
"""
from __future__ import annotations

import math
import shutil
from pathlib import Path

import torch

from ..config import DataConfig, load_config
from ..data import build_dataset
from ..evaluation import generator_sampler
from ..generate import load_generator
from ..metrics.parzen import parzen_evaluation
from ..runner import train
from .base import DIFFERS, NOT_STATED, SAME, UNKNOWN, ReproResult, Row, Setting, register_repro
from .common import QUIET, bundled

PAPER_MNIST = (225.0, 2.0)      # Goodfellow et al. 2014, Table 1, adversarial nets on MNIST
PAPER_TFD = (2057.0, 26.0)      # the same on the Toronto Face Database


def protocol(quick: bool) -> dict:
    if quick:  # tiny networks and draws: checks the pipeline, not the numbers
        return {"steps": 8, "short": 2, "samples": 300, "validation": 100, "test": 300,
                "overrides": ["model.g_channels=8", "model.d_channels=8", "train.batch_size=16"]}
    return {"steps": 1000, "short": 100, "samples": 10_000, "validation": 1000, "test": 10_000, "overrides": []}


def _pixels01(images: torch.Tensor) -> torch.Tensor:
    """`[N, C, H, W]` in [-1, 1] -> `[N, C*H*W]` in [0, 1], the paper's scale."""
    return ((images.reshape(len(images), -1) + 1) / 2).clamp(0, 1)


def _draw(dataset, n: int, generator: torch.Generator, skip: int = 0) -> torch.Tensor:
    index = torch.randperm(len(dataset), generator=generator)[skip:skip + n]
    return dataset.batch(index)[0]


def ordering_holds(trained: tuple[float, float], short: tuple[float, float], data: tuple[float, float]) -> bool:
    """(mean, se) triples: trained > short by more than 2 combined standard errors, and trained < data."""
    margin = 2 * math.hypot(trained[1], short[1])
    return trained[0] - short[0] > margin and trained[0] < data[0]


GOODFELLOW = "Goodfellow et al. 2014"


def table(result: ReproResult) -> list[Setting]:
    """Table 1's protocol (section 5) beside what ran (`extra["protocol"]`)."""
    p = result.extra.get("protocol") or protocol(result.quick)
    return [
        Setting("data", "MNIST and the Toronto Face Database", f"{GOODFELLOW}, section 5, Table 1",
                "Fashion-MNIST at 32x32, pixels in [0, 1]", DIFFERS, "no MNIST or TFD offline"),
        Setting("networks", "G: rectifier and sigmoid units; D: maxout with dropout", f"{GOODFELLOW}, section 5",
                "the DCGAN of dcgan_fashion", DIFFERS, "the repro scores this project's DCGAN"),
        Setting("length", NOT_STATED, "", f"{p['short']:,} and {p['steps']:,} steps", UNKNOWN),
        Setting("estimator", "Gaussian Parzen window fitted to G's samples, its sigma by cross-validation on "
                "the validation set; mean test log-likelihood", f"{GOODFELLOW}, section 5",
                f"the same, sigma from 10 values by {p['validation']:,} held-out training images", SAME),
        Setting("samples", NOT_STATED, "", f"{p['samples']:,} samples, {p['test']:,} test images", UNKNOWN),
    ]


@register_repro("gan-parzen", "Goodfellow et al. 2014, Table 1",
                "Parzen-window log-likelihood of the test set (10,000 samples, sigma by validation), Fashion-MNIST",
                table)
def run(out: Path, quick: bool, budget: float | None) -> ReproResult:
    p = protocol(quick)
    runs = out / "runs"
    if runs.exists():
        shutil.rmtree(runs)
    base = [*QUIET, *p["overrides"], f"train.sample_every={p['steps']}", f"train.ckpt_every={p['steps']}"]
    short = train(load_config(bundled("dcgan_fashion"), [*base, f"train.steps={p['short']}"]), runs / "short")
    shutil.copytree(short.run_dir, runs / "trained")
    trained = train(load_config(runs / "trained" / "config.yaml", [f"train.steps={p['steps']}"]),
                    resume=runs / "trained")
    generator = torch.Generator().manual_seed(0)
    train_set = build_dataset(DataConfig(name="fashion-mnist", resolution=32))
    test_set = build_dataset(DataConfig(name="fashion-mnist", resolution=32, split="test"))
    validation = _pixels01(_draw(train_set, p["validation"], generator))
    test = _pixels01(_draw(test_set, p["test"], generator))
    # the data ceiling: the window on training images that are not the validation ones (same permutation)
    generator.manual_seed(0)
    ceiling_samples = _pixels01(_draw(train_set, p["samples"], generator, skip=p["validation"]))
    scores = {"data": parzen_evaluation(ceiling_samples, validation, test)}
    for name, result in (("short", short), ("trained", trained)):
        fake = generator_sampler(load_generator(result.checkpoint), seed=1)(p["samples"])
        scores[name] = parzen_evaluation(_pixels01(fake), validation, test)
    shutil.copy(trained.picture, out / "samples_trained.png")
    pair = {k: (v["parzen_ll"], v["parzen_se"]) for k, v in scores.items()}
    ok = ordering_holds(pair["trained"], pair["short"], pair["data"])
    note = "mean log-likelihood (nats) ± standard error over test images; sigma {:.3g}"
    rows = [Row(f"DCGAN, {p['steps']} steps", pair["trained"][0], None, pair["trained"][1],
                note.format(scores["trained"]["parzen_sigma"])),
            Row(f"DCGAN, {p['short']} steps", pair["short"][0], None, pair["short"][1],
                note.format(scores["short"]["parzen_sigma"])),
            Row("training images (the ceiling)", pair["data"][0], None, pair["data"][1],
                note.format(scores["data"]["parzen_sigma"])),
            Row("adversarial nets, MNIST", "not run: no MNIST offline", PAPER_MNIST[0], None,
                f"paper ± {PAPER_MNIST[1]:g}"),
            Row("adversarial nets, TFD", "not run: no TFD offline", PAPER_TFD[0], None, f"paper ± {PAPER_TFD[1]:g}")]
    summary = (f"Fashion-MNIST, pixels in [0, 1]: the DCGAN after {p['steps']} steps scores "
               f"{pair['trained'][0]:.1f} ± {pair['trained'][1]:.1f} nats, after {p['short']} steps "
               f"{pair['short'][0]:.1f} ± {pair['short'][1]:.1f}, the training images themselves "
               f"{pair['data'][0]:.1f} ± {pair['data'][1]:.1f}. The protocol's ordering (trained > short by "
               f"2 standard errors, trained < data) {'holds' if ok else 'does not hold'}. No paper number exists "
               "for Fashion-MNIST, so the paper's MNIST and TFD figures are listed for scale only.")
    return ReproResult(
        name="gan-parzen", paper="Goodfellow et al. 2014, Table 1",
        protocol=(f"`dcgan_fashion` trained {p['short']} and {p['steps']} steps "
                  f"{' '.join(p['overrides'])}; Gaussian Parzen window on {p['samples']:,} samples of each "
                  f"(and on {p['samples']:,} training images), sigma from 10 values in [0.1, 1] by the mean "
                  f"log-likelihood of {p['validation']:,} other training images, then the mean log-likelihood "
                  f"of {p['test']:,} test images with its standard error."),
        holds=ok, summary=summary, rows=rows, figures=["samples_trained.png"],
        extra={"scores": scores, "protocol": p})
