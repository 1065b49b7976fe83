"""Radford et al. 2016, section 5.1: a GAN's discriminator as a feature extractor for supervised learning.

The paper trained a DCGAN on Imagenet-1k, max-pooled every convolutional layer of D to a 4x4 grid,
flattened and concatenated the grids and trained a regularised linear L2-SVM on them (CIFAR-10: 82.8%
with all labels). Here the same pipeline runs on Fashion-MNIST: the `dcgan_fashion` DCGAN's D (three conv
layers: 64x16x16, 128x8x8, 256x4x4 -> 7,168 features), scikit-learn's `LinearSVC` (squared hinge, L2
penalty) on standardised features with C chosen on a held-out validation split, with all labels and with
100 and 400 per class over several draws. In the same run: raw pixels, a randomly initialised D of the
same shape (what the architecture alone gives) and the domain classifier's own features (a ceiling: that
network was trained with every label). Its protocol table differs from the paper's in data (no Imagenet-1k,
CIFAR-10 or SVHN offline) and in the DCGAN's batch.
"""
from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from torch import nn

from .. import viz
from ..data import Dataset
from ..generate import generate, latents, load_generator
from ..metrics.classifier import classify
from .base import DIFFERS, DOES_NOT, REPRODUCES, SAME, ReproResult, Row, Setting, register_repro
from .dcgan_common import RADFORD, dcgan_config, fashion_mnist, load_discriminator, random_discriminator, \
    trained_dcgan, training_rows

POOL = 4                       # each layer's map is max-pooled to POOL x POOL, as in the paper
C_GRID = (1e-5, 1e-4, 1e-3, 1e-2)
MAX_ITER = 200            # liblinear's passes over the data


@dataclass(frozen=True)
class Protocol:
    """Sizes of one run: the labelled pool the SVM may see, the validation split that picks C, the test
    images, the labelled-subset sizes per class and how many draws of each."""

    pool: int
    validation: int
    test: int
    per_class: tuple[int, ...]
    draws: int
    c_grid: tuple[float, ...]


FULL = Protocol(pool=20_000, validation=5_000, test=10_000, per_class=(100, 400), draws=5, c_grid=C_GRID)
QUICK = Protocol(pool=400, validation=200, test=400, per_class=(10,), draws=2, c_grid=(1e-3, 1e-2))


@torch.no_grad()
def discriminator_features(D: nn.Module, images: torch.Tensor, batch_size: int = 500) -> np.ndarray:
    """Every conv layer's activations (after its LeakyReLU) of D's body, each max-pooled to 4x4,
    flattened and concatenated: `[N, sum of channels * 16]` float32."""
    chunks = []
    for batch in images.split(batch_size):
        h, parts = batch, []
        for layer in D.body:
            h = layer(h)
            if isinstance(layer, nn.LeakyReLU):
                parts.append(F.adaptive_max_pool2d(h, POOL).flatten(1))
        chunks.append(torch.cat(parts, dim=1))
    return torch.cat(chunks).numpy()


def _pixels(images: torch.Tensor) -> np.ndarray:
    return images.flatten(1).numpy()


def _classifier(images: torch.Tensor) -> np.ndarray:
    return classify(images)[0].float().numpy()


def extractors(checkpoint: Path) -> dict[str, Callable[[torch.Tensor], np.ndarray]]:
    """Feature sets by name, in the order they are reported."""
    trained, untrained = load_discriminator(checkpoint), random_discriminator(checkpoint, seed=1)
    return {"trained D": lambda x: discriminator_features(trained, x),
            "random D": lambda x: discriminator_features(untrained, x),
            "raw pixels": _pixels,
            "classifier (ceiling)": _classifier}


@dataclass(frozen=True)
class Splits:
    """Indices into the train split: the labelled pool and the validation images that choose C."""

    pool: np.ndarray
    validation: np.ndarray


def make_splits(train: Dataset, protocol: Protocol, seed: int = 0) -> Splits:
    order = np.random.default_rng(seed).permutation(len(train))
    return Splits(pool=order[protocol.validation:protocol.validation + protocol.pool],
                  validation=order[:protocol.validation])


def per_class_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Positions (into `labels`) of `per_class` examples of every class, drawn with `seed`, sorted."""
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in np.unique(labels)]
    return np.sort(np.concatenate(picks))


def svm_accuracies(train_x: np.ndarray, train_y: np.ndarray, evaluations: list[tuple[np.ndarray, np.ndarray]],
                   c: float) -> tuple[list[float], bool]:
    """Fit the one-vs-rest linear L2-SVM (squared hinge, L2 penalty) with `c`; its accuracy on each
    (features, labels) of `evaluations`, and whether liblinear converged. The dual solver: coordinate
    descent is fast here, where the features outnumber or approach the training images."""
    model = LinearSVC(C=c, dual=True, max_iter=MAX_ITER, random_state=0)  # seeds the coordinate order
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(train_x, train_y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return [float((model.predict(x) == y).mean()) for x, y in evaluations], converged


def labelled_sets(pool_labels: np.ndarray, protocol: Protocol) -> list[tuple[str, int, np.ndarray]]:
    """(set name, draw, positions in the pool) of every labelled training set: the whole pool once, and
    `draws` seeded draws of each per-class size."""
    sets = [("all labels", 0, np.arange(len(pool_labels)))]
    for k in protocol.per_class:
        sets += [(f"{k} per class", d, per_class_subset(pool_labels, k, seed=d)) for d in range(protocol.draws)]
    return sets


def standardised(pool: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """All arrays scaled by the pool's per-feature mean and std (no labels involved), as float64."""
    scaler = StandardScaler().fit(pool)
    return [scaler.transform(a).astype(np.float64) for a in (pool, *others)]


def verdict_of(summary: dict[str, dict[str, tuple[float, float]]]) -> tuple[str, list[str]]:
    """REPRODUCES when trained-D features beat both random-D features and raw pixels in every labelled set
    by more than the spread (the larger std over draws of the two; 0 for a single fit)."""
    failures = []
    for set_name, by_features in summary.items():
        mean, std = by_features["trained D"]
        for other in ("random D", "raw pixels"):
            other_mean, other_std = by_features[other]
            if not mean - other_mean > max(std, other_std):
                failures.append(f"{set_name}: trained D {mean:.1f}% vs {other} {other_mean:.1f}%")
    return (REPRODUCES if not failures else DOES_NOT), failures


def _bar_chart(summary: dict[str, dict[str, tuple[float, float]]], path: Path, title: str) -> Path:
    plt = viz.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    set_names = list(summary)
    feature_names = list(next(iter(summary.values())))
    width = 0.8 / len(feature_names)
    for i, feature in enumerate(feature_names):
        means = [summary[s][feature][0] for s in set_names]
        stds = [summary[s][feature][1] for s in set_names]
        xs = np.arange(len(set_names)) + (i - (len(feature_names) - 1) / 2) * width
        ax.bar(xs, means, width, yerr=stds, capsize=3, label=feature)
        for x, m in zip(xs, means):
            ax.text(x, m + 0.5, f"{m:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(np.arange(len(set_names)), set_names)
    ax.set_ylabel("test accuracy (%)")
    low = min(m for by in summary.values() for m, _ in by.values())
    ax.set_ylim(max(0.0, low - 10), 100)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return viz.save_figure(plt, fig, path)


def table(result: ReproResult) -> list[Setting]:
    """Section 5.1's protocol beside what ran."""
    return [
        Setting("data", "a DCGAN trained on Imagenet-1k; the SVM on CIFAR-10 (Table 1) and 1,000 SVHN labels "
                "(Table 2)", f"{RADFORD}, sections 5.1-5.2", "Fashion-MNIST for both", DIFFERS,
                "no Imagenet-1k, CIFAR-10 or SVHN offline"),
        Setting("features", "every conv layer of D max-pooled to 4x4, flattened and concatenated",
                f"{RADFORD}, section 5.1", "the same (the DCGAN's 3 conv layers)", SAME),
        Setting("classifier", "regularised linear L2-SVM", f"{RADFORD}, section 5.1",
                "LinearSVC: squared hinge, L2 penalty, C chosen on a validation split", SAME),
        *training_rows(result.quick),
        Setting("metric", "test accuracy (error on SVHN)", f"{RADFORD}, Tables 1-2", "test accuracy and error",
                SAME),
    ]


@register_repro("dcgan-features", "Radford et al. 2016 (DCGAN), section 5.1 and Tables 1-2",
                "DCGAN discriminator features + linear L2-SVM on Fashion-MNIST vs pixels, random D, classifier",
                table)
def run(out_dir: Path, quick: bool, budget: float | None) -> ReproResult:
    protocol = QUICK if quick else FULL
    timings: dict[str, float] = {}
    start = time.perf_counter()
    checkpoint = trained_dcgan(out_dir / "dcgan", quick)
    timings["train DCGAN"] = time.perf_counter() - start
    train, test = fashion_mnist("train"), fashion_mnist("test")
    splits = make_splits(train, protocol)
    test_index = np.random.default_rng(1).permutation(len(test))[:protocol.test]
    images = [train.batch(torch.from_numpy(splits.pool))[0], train.batch(torch.from_numpy(splits.validation))[0],
              test.batch(torch.from_numpy(test_index))[0]]
    pool_y, val_y, test_y = (train.labels[splits.pool].numpy(), train.labels[splits.validation].numpy(),
                             test.labels[test_index].numpy())
    sets = labelled_sets(pool_y, protocol)

    start = time.perf_counter()
    features, dims = {}, {}
    for name, extract in extractors(checkpoint).items():
        features[name] = standardised(*(extract(x) for x in images))
        dims[name] = features[name][0].shape[1]
    timings["features"] = time.perf_counter() - start

    def fit(job: tuple[str, str, int, np.ndarray, float]) -> tuple[list[float], bool]:
        feature, _, _, rows, c = job
        pool_x, val_x, test_x = features[feature]
        return svm_accuracies(pool_x[rows], pool_y[rows], [(val_x, val_y), (test_x, test_y)], c)

    start = time.perf_counter()
    # one job per fit, largest first; liblinear releases the GIL, so threads run them in parallel
    jobs = [(feature, set_name, draw, rows, c) for set_name, draw, rows in sets for feature in features
            for c in protocol.c_grid]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        outcomes = list(pool.map(fit, jobs))
    timings["svm fits"] = time.perf_counter() - start
    unconverged = sum(not converged for _, converged in outcomes)
    best: dict[tuple[str, str, int], tuple[float, float, float]] = {}  # -> (validation, test, C)
    for (feature, set_name, draw, _, c), ((val_acc, test_acc), _) in zip(jobs, outcomes):
        key = (feature, set_name, draw)
        if key not in best or val_acc > best[key][0]:  # ties keep the smaller C (the grid ascends)
            best[key] = (val_acc, test_acc, c)

    set_order = [f"{k} per class" for k in protocol.per_class] + ["all labels"]
    per_draw = {s: {f: [] for f in features} for s in set_order}
    chosen = {s: {f: [] for f in features} for s in set_order}
    for (feature, set_name, _), (_, test_acc, c) in best.items():
        per_draw[set_name][feature].append(100.0 * test_acc)
        chosen[set_name][feature].append(c)
    summary = {s: {f: (float(np.mean(v)), float(np.std(v))) for f, v in by.items()} for s, by in per_draw.items()}
    verdict, failures = verdict_of(summary)

    figures = [_bar_chart(summary, out_dir / "features_accuracy.png",
                          f"Fashion-MNIST test accuracy of a linear L2-SVM on each feature set "
                          f"({protocol.draws} draws per small set; bars: std)").name]
    G = load_generator(checkpoint)
    viz.save_image_grid(generate(G, latents(G, 64, seed=0)), out_dir / "features_dcgan_samples.png", nrow=8)
    figures.append("features_dcgan_samples.png")

    rows = []
    for set_name in set_order:
        for feature in features:
            mean, std = summary[set_name][feature]
            paper, note = None, ""
            if feature == "trained D" and set_name == "all labels":
                paper, note = 82.8, "paper: CIFAR-10 with an Imagenet-1k DCGAN's D (Table 1); other data"
            rows.append(Row(f"{feature}, {set_name}: test accuracy (%)", round(mean, 2), paper,
                            round(std, 2) if len(per_draw[set_name][feature]) > 1 else None,
                            note or (f"std over {protocol.draws} draws" if set_name != "all labels" else "one fit")))
    if 100 in protocol.per_class:
        mean, std = summary["100 per class"]["trained D"]
        rows.append(Row("trained D, 1,000 labels (100 per class): test error (%)", round(100 - mean, 2), 22.48,
                        round(std, 2), "paper: SVHN with 1,000 labels (Table 2); other data"))

    steps = dcgan_config(quick).train.steps
    all_label = f"the labelled pool of {protocol.pool:,} train images (a random subset of the 60,000)"
    protocol_text = (
        f"dcgan_fashion preset trained {steps:,} steps (batch {dcgan_config(quick).train.batch_size}) by "
        f"runner.train; every conv layer of D max-pooled to 4x4 and concatenated "
        f"({dims['trained D']:,} features); features standardised with the pool's statistics; "
        f"LinearSVC (squared hinge, L2, dual solver) with C from {list(protocol.c_grid)} chosen on "
        f"{protocol.validation:,} "
        f"held-out train images; labelled sets: {all_label}, and {', '.join(map(str, protocol.per_class))} "
        f"per class drawn from it {protocol.draws} times; test: {protocol.test:,} test-split images."
        + (" Quick: a 16-channel DCGAN for a few dozen steps on small subsets; not the protocol." if quick else ""))
    best = summary["all labels"]
    summary_text = (
        f"With all pool labels a linear SVM reaches {best['trained D'][0]:.1f}% on trained-D features, "
        f"{best['random D'][0]:.1f}% on a random D of the same shape, {best['raw pixels'][0]:.1f}% on raw pixels "
        f"and {best['classifier (ceiling)'][0]:.1f}% on the supervised classifier's features. "
        + ("Trained D beats random D and pixels by more than the spread in every labelled set."
           if not failures else "Not a clear win: " + "; ".join(failures) + "."))
    return ReproResult(
        name="dcgan-features", paper="Radford, Metz & Chintala 2016, section 5.1, Tables 1-2",
        protocol=protocol_text, holds=verdict == REPRODUCES, summary=summary_text, rows=rows, figures=figures,
        extra={"accuracy_per_draw": per_draw, "chosen_c": chosen, "feature_dims": dims,
               "timings_s": {k: round(v, 1) for k, v in timings.items()}, "dcgan_steps": steps,
               "fits": len(jobs), "unconverged_fits": unconverged, "max_iter": MAX_ITER,
               "checkpoint": str(checkpoint),
               "protocol": {"pool": protocol.pool, "validation": protocol.validation, "test": protocol.test,
                            "per_class": list(protocol.per_class), "draws": protocol.draws,
                            "c_grid": list(protocol.c_grid)}})
