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


class Discriminator(nn.Module):
    def __init__(self, num_classes: int = 0, label: str = "none", pack: int = 1, mbd_kernels: int = 0,
                 mbd_dim: int = 5) -> None:
        super().__init__()
        if label != "none" and num_classes < 2:
            raise ValueError(f"label mode {label!r} needs labelled data with at least 2 classes")
        self.num_classes, self.label, self.pack = num_classes, label, pack
        self.mbd_kernels, self.mbd_dim = mbd_kernels, mbd_dim

    def input_channels(self, channels: int) -> int:
        """Channels (or features) the body receives for samples of `channels`."""
        return channels * self.pack + (self.num_classes if self.label == "concat" else 0)

    def build_heads(self, feature_dim: int) -> None:
        """The layers after the body, for flattened features of `feature_dim`."""
        self.mbd = MinibatchDiscrimination(feature_dim, self.mbd_kernels, self.mbd_dim) if self.mbd_kernels else None
        width = feature_dim + self.mbd_kernels
        if self.label == "classes":
            self.head = nn.Linear(width, self.num_classes)
        else:
            self.head = nn.Linear(width, 1)
        if self.label == "acgan":
            self.classifier = nn.Linear(width, self.num_classes)
        if self.label == "projection":
            self.embed = nn.Embedding(self.num_classes, width)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, full: bool = False):
        if self.label in ("concat", "projection") and y is None:
            raise ValueError(f"a {self.label} discriminator needs the labels of its input")
        if self.pack > 1:
            x = pack(x, self.pack)
        if self.label == "concat":
            x = join_label(x, y, self.num_classes)
        features = self.body(x).flatten(1)
        h = self.mbd(features) if self.mbd is not None else features
        class_logits = None
        if self.label == "classes":
            class_logits = self.head(h)
            logits = torch.logsumexp(class_logits, dim=1)
        else:
            logits = self.head(h).squeeze(1)
            if self.label == "acgan":
                class_logits = self.classifier(h)
            elif self.label == "projection":
                logits = logits + (self.embed(y) * h).sum(1)
        return DOutput(logits, class_logits, features) if full else logits
