"""What every discriminator shares around its family's body: packing, label input, minibatch discrimination
and the output heads of the label modes.

A family builds `self.body` (samples -> hidden features of any shape) and calls `build_heads`. `forward`
returns the adversarial logits; `forward(..., full=True)` also returns the class logits and the hidden
features that AC-GAN, the K+1-class D and feature matching need.

Label modes (`label`):
- none: an unconditional D.
- concat (Mirza & Osindero 2014): the one-hot label enters with the input.
- acgan (Odena et al. 2017): a second head classifies every input, real or fake, into the K classes.
- projection (Miyato & Koyama 2018): logit = psi(phi(x)) + embed(y) . phi(x).
- classes (Salimans et al. 2016): K logits for the real classes and an implicit fake class with logit 0, so
  the adversarial logit (real vs fake) is logsumexp of the K logits.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .layers import MinibatchDiscrimination, join_label, pack


class DOutput(NamedTuple):
    logits: torch.Tensor                # [N / pack] adversarial logits
    class_logits: torch.Tensor | None   # [N, K] for acgan and classes, else None
    features: torch.Tensor              # [N / pack, F] the body's output, flattened


class LabelMode:
    """How a discriminator uses labels: the layers it adds after the body and how they turn features
    `[N, F]` into logits. The layers live on D itself (`head`, and `classifier` or `embed`), so checkpoints
    keep their names whatever the mode."""

    conditional = False   # D is trained with the labels of real data (the run needs labelled data)
    joins_input = False   # the one-hot label enters with the input
    judges_label = False  # D judges (x, y) pairs, so G must be class-conditional
    needs_labels = False  # forward cannot run without y

    def build(self, D: "Discriminator", width: int) -> None:
        D.head = nn.Linear(width, 1)

    def judge(self, D: "Discriminator", h: torch.Tensor,
              y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(adversarial logits [N], class logits [N, K] or None)."""
        return D.head(h).squeeze(1), None


class Concat(LabelMode):
    conditional = joins_input = judges_label = needs_labels = True


class ACGAN(LabelMode):
    conditional = judges_label = True

    def build(self, D: "Discriminator", width: int) -> None:
        super().build(D, width)
        D.classifier = nn.Linear(width, D.num_classes)

    def judge(self, D, h, y):
        return D.head(h).squeeze(1), D.classifier(h)


class Projection(LabelMode):
    conditional = judges_label = needs_labels = True

    def build(self, D: "Discriminator", width: int) -> None:
        super().build(D, width)
        D.embed = nn.Embedding(D.num_classes, width)
        nn.init.normal_(D.embed.weight, 0.0, 0.02)

    def judge(self, D, h, y):
        return D.head(h).squeeze(1) + (D.embed(y) * h).sum(1), None


class Classes(LabelMode):
    """K real-class logits; the fake class has logit 0, so real-vs-fake is logsumexp of the K."""

    conditional = True

    def build(self, D: "Discriminator", width: int) -> None:
        D.head = nn.Linear(width, D.num_classes)

    def judge(self, D, h, y):
        class_logits = D.head(h)
        return torch.logsumexp(class_logits, dim=1), class_logits


LABEL_MODES: dict[str, LabelMode] = {"none": LabelMode(), "concat": Concat(), "acgan": ACGAN(),
                                     "projection": Projection(), "classes": Classes()}


class Discriminator(nn.Module):
    def __init__(self, num_classes: int = 0, label: str = "none", pack: int = 1, mbd_kernels: int = 0,
                 mbd_dim: int = 5) -> None:
        super().__init__()
        if label not in LABEL_MODES:
            raise ValueError(f"unknown label mode {label!r}; known: {', '.join(LABEL_MODES)}")
        if LABEL_MODES[label].conditional and num_classes < 2:
            raise ValueError(f"label mode {label!r} needs labelled data with at least 2 classes")
        self.num_classes, self.label, self.pack = num_classes, label, pack
        self.mode = LABEL_MODES[label]
        self.mbd_kernels, self.mbd_dim = mbd_kernels, mbd_dim

    def input_channels(self, channels: int) -> int:
        """Channels (or features) the body receives for samples of `channels`."""
        return channels * self.pack + (self.num_classes if self.mode.joins_input else 0)

    def build_heads(self, feature_dim: int) -> None:
        """The layers after the body, for flattened features of `feature_dim`."""
        self.mbd = MinibatchDiscrimination(feature_dim, self.mbd_kernels, self.mbd_dim) if self.mbd_kernels else None
        self.mode.build(self, feature_dim + self.mbd_kernels)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, full: bool = False):
        if self.mode.needs_labels and y is None:
            raise ValueError(f"a {self.label} discriminator needs the labels of its input")
        if self.pack > 1:
            x = pack(x, self.pack)
        if self.mode.joins_input:
            x = join_label(x, y, self.num_classes)
        features = self.body(x).flatten(1)
        h = self.mbd(features) if self.mbd is not None else features
        logits, class_logits = self.mode.judge(self, h, y)
        return DOutput(logits, class_logits, features) if full else logits
