"""What every generator shares around its family's layers: class conditioning and the reference batch.

A family implements `synthesise(h, y)` from the (possibly label-joined) latent `h`; `forward(z, y)` adds
the one-hot label for `concat` conditioning and, for reference/virtual batch norm, runs the fixed reference
batch in front of the real one and drops it from the output.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .layers import join_label
from .norms import G_NORMS, ReferenceBatch


@dataclass(frozen=True)
class GLabelMode:
    """A `model.g_label` value: how a generator takes the class label (the discriminator's side is
    `discriminator.LabelMode`)."""

    doc: str
    conditional: bool = True      # G is conditioned on a label at all
    joins_input: bool = False     # the one-hot label is joined to z
    conditions_norm: bool = False  # G's norm layers get a per-class scale and shift (needs norm layers)


G_LABEL_MODES: dict[str, GLabelMode] = {
    "none": GLabelMode("unconditional", conditional=False),
    "concat": GLabelMode("one-hot label joined to z (Mirza & Osindero 2014)", joins_input=True),
    "cbn": GLabelMode("conditional batch norm: per-class scale and shift (de Vries et al. 2017)",
                      conditions_norm=True),
}


class Generator(nn.Module):
    def __init__(self, z_dim: int, num_classes: int = 0, label: str = "none", norm: str = "batch",
                 reference_size: int = 64) -> None:
        super().__init__()
        if label not in G_LABEL_MODES:
            raise ValueError(f"unknown label mode {label!r}; known: {', '.join(G_LABEL_MODES)}")
        self.mode = G_LABEL_MODES[label]
        if self.mode.conditional and num_classes < 2:
            raise ValueError(f"label mode {label!r} needs labelled data with at least 2 classes")
        self.z_dim, self.label = z_dim, label
        self.num_classes = num_classes if self.mode.conditional else 0  # classes G is conditioned on; 0: none
        self.reference = (ReferenceBatch(reference_size, z_dim, self.num_classes)
                          if norm in G_NORMS and G_NORMS[norm].reference else None)

    @property
    def input_dim(self) -> int:
        return self.z_dim + (self.num_classes if self.mode.joins_input else 0)

    @property
    def norm_classes(self) -> int:
        """Classes of G's conditional norm layers; 0 when they are not conditional."""
        return self.num_classes if self.mode.conditions_norm else 0

    def synthesise(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes and y is None:
            raise ValueError("this generator is class-conditional: pass the labels y")
        n = len(z)
        if self.reference is not None:
            z, y = self.reference.prepend(z, y if self.num_classes else None)
        h = join_label(z, y, self.num_classes) if self.mode.joins_input else z
        out = self.synthesise(h, y if self.num_classes else None)
        return out[len(out) - n:] if self.reference is not None else out
