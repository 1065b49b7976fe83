"""Radford et al. 2016, sections 6.1 and 6.3: latent walks and vector arithmetic on a DCGAN's z.

The paper averaged z over three exemplars per visual concept, computed e.g. "smiling woman - neutral woman
+ neutral man" and showed the result (with uniform noise of +-0.25 added for neighbours) as a smiling man
(Figure 7); it judged the outcome by eye. Here the concepts are Fashion-MNIST classes, and the domain
classifier both picks the exemplars (samples it assigns to the class with probability >= 0.95) and
judges the results, so the outcome is a number.

The analogy: mean z(A) - mean z(B) + mean z(B'), where B and B' are two disjoint exemplar triples of one
class. It asks whether the direction from class B to class A, measured on one triple, carries a *different*
instance of B over to A, so the expected class of the result is A. Two baselines run on the same pairs:
the same arithmetic on random z triples (whose result is again N(0, I), so it lands in A about as often as
any sample does), and B' alone (no direction added: how often B' already looks like A).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import viz
from ..generate import generate, interpolate_to_file, load_generator
from ..metrics.classifier import CLASSES, load_classifier, to_classifier_input
from .base import DIFFERS, SAME, UNKNOWN, ReproResult, Row, Setting, register_repro
from .dcgan_common import RADFORD, dcgan_config, trained_dcgan, training_rows

CLASS_NAMES = ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
               "ankle boot")
EXEMPLARS = 3              # z's averaged per concept, as in the paper
NOISE = 0.25               # Figure 7: uniform noise in [-0.25, 0.25] added to the result
# pairs (A, B) pictured: A - B + B' for footwear, tops, one-piece vs two-piece, bag vs shoe
FIGURE_PAIRS = ((9, 7), (2, 0), (1, 3), (8, 5))


@dataclass(frozen=True)
class Protocol:
    candidates: int        # samples drawn from G to find exemplars in
    triples: int           # exemplar draws per ordered class pair
    perturbations: int     # noisy neighbours of each result, also classified
    pairs: int             # ordered class pairs used (0: every pair with enough exemplars)
    threshold: float       # classifier probability an exemplar needs


FULL = Protocol(candidates=20_000, triples=10, perturbations=8, pairs=0, threshold=0.95)
# quick: a G of a few dozen steps draws nearly one class, so any sample may serve (exercises the code only)
QUICK = Protocol(candidates=1_000, triples=2, perturbations=2, pairs=6, threshold=0.0)


@torch.no_grad()
def class_probabilities(images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The domain classifier's softmax `[N, 10]` for images in [-1, 1]."""
    model = load_classifier()
    return torch.cat([model.head(model.features(to_classifier_input(chunk))).softmax(dim=1)
                      for chunk in images.split(batch_size)])


def predicted(G: nn.Module, z: torch.Tensor) -> torch.Tensor:
    return class_probabilities(generate(G, z)).argmax(dim=1)


def exemplar_pools(probs: torch.Tensor, threshold: float) -> dict[int, torch.Tensor]:
    """Per class, the indices of samples whose probability of it is >= `threshold` (above 0.5 they are
    assigned to it), most probable first; only classes with enough for two disjoint triples (B and B')."""
    pools = {}
    for c in range(CLASSES):
        index = torch.nonzero(probs[:, c] >= threshold).flatten()
        if len(index) >= 2 * EXEMPLARS:
            pools[c] = index[probs[index, c].argsort(descending=True)]
    return pools


def analogy(z_a: torch.Tensor, z_b: torch.Tensor, z_c: torch.Tensor) -> torch.Tensor:
    """mean z_a - mean z_b + mean z_c for triples `[..., 3, D]`."""
    return z_a.mean(dim=-2) - z_b.mean(dim=-2) + z_c.mean(dim=-2)


def with_neighbours(z: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """Each z `[N, D]` followed by `count` copies with uniform noise in [-NOISE, NOISE]: `[N, 1 + count, D]`."""
    noise = (torch.rand(len(z), count, z.shape[1], generator=generator) * 2 - 1) * NOISE
    return torch.cat([z[:, None], z[:, None] + noise], dim=1)


def _share(hits: torch.Tensor) -> tuple[float, float]:
    """Mean and standard error over triples of the per-triple share of hits `[T, 1 + perturbations]`."""
    per_triple = hits.float().mean(dim=1)
    return float(per_triple.mean()), float(per_triple.std() / len(per_triple) ** 0.5) if len(per_triple) > 1 else 0.0


def _arithmetic_grid(G: nn.Module, rows: list[dict], path: Path, shown: int) -> Path:
    """Each row: A's three exemplars and their mean, B's, B''s, then the result and `shown` noisy neighbours."""
    tiles = []
    for row in rows:
        for key in ("z_a", "z_b", "z_c"):
            tiles += [row[key], row[key].mean(dim=0, keepdim=True)]
        tiles.append(row["neighbours"][:1 + shown])
    z = torch.cat(tiles)
    return viz.save_image_grid(generate(G, z), path, nrow=len(z) // len(rows))


def table(result: ReproResult) -> list[Setting]:
    """Sections 6.1 and 6.3 beside what ran."""
    return [
        Setting("data", "LSUN bedrooms (walks) and a faces dataset (arithmetic)", f"{RADFORD}, sections 6.1, 6.3",
                "Fashion-MNIST classes as the concepts", DIFFERS, "no LSUN or the faces set offline"),
        Setting("arithmetic", "mean z of three exemplars per concept; the result and 8 neighbours with uniform "
                "noise of +-0.25", f"{RADFORD}, section 6.3, Figure 7", "the same", SAME),
        *training_rows(result.quick),
        Setting("judge", "by eye (the figures)", f"{RADFORD}, Figures 4 and 7",
                "the domain classifier's class of each result", UNKNOWN),
    ]


@register_repro("dcgan-latent", "Radford et al. 2016 (DCGAN), sections 6.1 and 6.3, Figures 4 and 7",
                "DCGAN latent walks and z arithmetic on Fashion-MNIST classes, judged by the domain classifier",
                table)
def run(out_dir: Path, quick: bool, budget: float | None) -> ReproResult:
    protocol = QUICK if quick else FULL
    checkpoint = trained_dcgan(out_dir / "dcgan", quick)
    G = load_generator(checkpoint)
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(protocol.candidates, G.z_dim, generator=generator)
    probs = class_probabilities(generate(G, z))
    pools = exemplar_pools(probs, protocol.threshold)
    share_of_class = torch.bincount(probs.argmax(dim=1), minlength=CLASSES).float() / len(z)

    pairs = [(a, b) for a, b in itertools.permutations(sorted(pools), 2)]
    pairs = sorted(pairs, key=lambda p: (p not in FIGURE_PAIRS, p))  # pictured pairs first
    if protocol.pairs:
        pairs = pairs[:protocol.pairs]
    shown_pairs = [p for p in FIGURE_PAIRS if p in pairs] or pairs[:len(FIGURE_PAIRS)]
    batches: dict[str, list[torch.Tensor]] = {"arithmetic": [], "random z": [], "B' alone": []}
    expected, examples = [], []
    for a, b in pairs:
        for _ in range(protocol.triples):
            pick_a = pools[a][torch.randperm(len(pools[a]), generator=generator)[:EXEMPLARS]]
            pick_b = pools[b][torch.randperm(len(pools[b]), generator=generator)[:2 * EXEMPLARS]]
            z_a, z_b, z_c = z[pick_a], z[pick_b[:EXEMPLARS]], z[pick_b[EXEMPLARS:]]
            random_z = torch.randn(3, EXEMPLARS, G.z_dim, generator=generator)
            for name, centre in (("arithmetic", analogy(z_a, z_b, z_c)), ("random z", analogy(*random_z)),
                                 ("B' alone", z_c.mean(dim=0))):
                batches[name].append(with_neighbours(centre[None], protocol.perturbations, generator)[0])
            expected.append(a)
            if (a, b) in shown_pairs and not any(e["pair"] == (a, b) for e in examples):
                examples.append({"pair": (a, b), "z_a": z_a, "z_b": z_b, "z_c": z_c,
                                 "neighbours": batches["arithmetic"][-1]})
    target = torch.tensor(expected)[:, None]
    hits = {name: predicted(G, torch.cat(zs)).view(len(zs), -1) == target for name, zs in batches.items() if zs}
    shares = {name: _share(hits[name]) if name in hits else (float("nan"), 0.0) for name in batches}

    figures = []
    if examples:
        _arithmetic_grid(G, examples, out_dir / "latent_arithmetic.png", shown=min(4, protocol.perturbations))
        figures.append("latent_arithmetic.png")
        np.savez(out_dir / "arithmetic_examples.npz",
                 pairs=np.array([e["pair"] for e in examples]),
                 z_a=torch.stack([e["z_a"] for e in examples]).numpy(),
                 z_b=torch.stack([e["z_b"] for e in examples]).numpy(),
                 z_c=torch.stack([e["z_c"] for e in examples]).numpy(),
                 results=generate(G, torch.stack([e["neighbours"][0] for e in examples])).numpy())
    interpolate_to_file(checkpoint, out_dir / "latent_walks.png", rows=8, steps=10, method="slerp", seed=0)
    figures.append("latent_walks.png")

    (arith, arith_se), (rand, rand_se), (alone, alone_se) = (shares[k] for k in ("arithmetic", "random z",
                                                                                  "B' alone"))
    tested = len(pairs) * protocol.triples
    margin = 2 * (arith_se ** 2 + rand_se ** 2) ** 0.5
    holds = bool(pairs) and arith > 0.5 and arith - rand > margin and arith - alone > margin
    note = f"mean over {tested} exemplar draws of the share among the result and its " \
           f"{protocol.perturbations} noisy neighbours; spread: standard error"
    rows = [Row("A - B + B' classified as A (share)", round(arith, 4), None, round(arith_se, 4), note),
            Row("random z triples, same arithmetic, classified as A (share)", round(rand, 4), None,
                round(rand_se, 4), "chance: the result is again N(0, I)"),
            Row("B' alone classified as A (share)", round(alone, 4), None, round(alone_se, 4),
                "without the A - B direction"),
            Row(f"classes with >= 6 exemplars at p >= {protocol.threshold}", len(pools), None, None,
                f"among {protocol.candidates:,} samples"),
            Row("ordered class pairs tested", len(pairs))]
    names = ", ".join(f"{CLASS_NAMES[a]} - {CLASS_NAMES[b]} + {CLASS_NAMES[b]}'" for a, b in
                      (e["pair"] for e in examples))
    summary = (f"Over {len(pairs)} ordered class pairs, mean z(A) - mean z(B) + mean z(B') was classified as A "
               f"{100 * arith:.1f}% of the time (result and noisy neighbours), against {100 * rand:.1f}% for the "
               f"same arithmetic on random z and {100 * alone:.1f}% for B' alone. Pictured: {names or 'none'}. "
               + ("The class direction transfers to new exemplars, as the paper's Figure 7 shows for faces."
                  if holds else "The arithmetic does not clearly carry new exemplars over to the expected class."))
    steps = dcgan_config(quick).train.steps
    protocol_text = (
        f"dcgan_fashion preset trained {steps:,} steps by runner.train; {protocol.candidates:,} samples "
        f"classified by the domain classifier; exemplars: samples it assigns with p >= {protocol.threshold}; "
        f"per ordered "
        f"class pair {protocol.triples} draws of three disjoint exemplar triples (A, B, B'); each result with "
        f"{protocol.perturbations} neighbours with uniform noise +-{NOISE} (Figure 7); latent walks: slerp "
        f"between random z, 8 rows of 10 steps."
        + (" Quick: a 16-channel DCGAN for a few dozen steps; not the protocol." if quick else ""))
    return ReproResult(
        name="dcgan-latent", paper="Radford, Metz & Chintala 2016, sections 6.1 and 6.3 (Figures 4 and 7)",
        protocol=protocol_text, holds=holds,
        summary=summary, rows=rows, figures=figures,
        extra={"shares": {k: {"mean": v[0], "se": v[1]} for k, v in shares.items()},
               "pairs": [list(p) for p in pairs], "exemplars_per_class": {CLASS_NAMES[c]: len(i) for c, i in
                                                                         pools.items()},
               "sample_class_share": {CLASS_NAMES[c]: round(float(s), 4) for c, s in enumerate(share_of_class)},
               "per_pair_share": {f"{CLASS_NAMES[a]} - {CLASS_NAMES[b]}": round(float(
                   hits["arithmetic"][i * protocol.triples:(i + 1) * protocol.triples].float().mean()), 3)
                   for i, (a, b) in enumerate(pairs)},
               "checkpoint": str(checkpoint), "dcgan_steps": steps, "threshold": protocol.threshold})
