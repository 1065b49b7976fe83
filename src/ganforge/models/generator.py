"""What every generator shares around its family's layers: class conditioning and the reference batch.

A family implements `synthesise(h, y)` from the (possibly label-joined) latent `h`; `forward(z, y)` adds
the one-hot label for `concat` conditioning and, for reference/virtual batch norm, runs the fixed reference
batch in front of the real one and drops it from the output.
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import join_label
from .norms import ReferenceBatch


class Generator(nn.Module):
    def __init__(self, z_dim: int, num_classes: int = 0, label: str = "none", norm: str = "batch",
                 reference_size: int = 64) -> None:
        super().__init__()
        if label != "none" and num_classes < 2:
            raise ValueError(f"label mode {label!r} needs labelled data with at least 2 classes")
        self.z_dim, self.label = z_dim, label
        self.num_classes = num_classes if label != "none" else 0  # classes G is conditioned on; 0: none
        self.reference = (ReferenceBatch(reference_size, z_dim, self.num_classes)
                          if norm in ("reference", "virtual") else None)

    @property
    def input_dim(self) -> int:
        return self.z_dim + (self.num_classes if self.label == "concat" else 0)

    def synthesise(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes and y is None:
            raise ValueError("this generator is class-conditional: pass the labels y")
        n = len(z)
        if self.reference is not None:
            z, y = self.reference.prepend(z, y if self.num_classes else None)
        h = join_label(z, y, self.num_classes) if self.label == "concat" else z
        out = self.synthesise(h, y if self.num_classes else None)
        return out[len(out) - n:] if self.reference is not None else out
