"""Library calls that the command line composes from smaller parts, kept beside the package's API."""
from __future__ import annotations

import torch
from torch import nn

from .generate import class_labels, generate, latents


def sample(G: nn.Module, n: int, seed: int = 0, class_index: int | None = None,
           batch_size: int = 256) -> torch.Tensor:
    """`n` samples of generator `G` (from `load_generator`) for latents seeded by `seed`, on the CPU:
    images `[n, C, H, W]` in [-1, 1] or points `[n, D]`. A class-conditional G gives class `class_index`,
    or every class in turn when it is None (as `ganforge sample` does)."""
    return generate(G, latents(G, n, seed), class_labels(G, n, class_index), batch_size)
