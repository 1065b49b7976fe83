"""The in-memory dataset every loader returns, and the seeded batch order the engine draws from it."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Dataset:
    """A whole dataset held in memory.

    Images stay uint8 `[N, C, H, W]` (a quarter of float32's memory) and are scaled to [-1, 1] per batch;
    toy points are float32 `[N, D]` and used as they are. `labels` is int64 `[N]`, or None when unlabelled.
    """

    samples: torch.Tensor
    labels: torch.Tensor | None
    num_classes: int
    name: str

    def __post_init__(self) -> None:
        if self.labels is not None and len(self.labels) != len(self.samples):
            raise ValueError(f"{self.name}: {len(self.samples)} samples but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def is_image(self) -> bool:
        return self.samples.dtype == torch.uint8 and self.samples.dim() == 4

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.samples.shape[1:])

    def to(self, device: torch.device) -> "Dataset":
        """The same data on `device`, as a new `Dataset` (this one is left where it is)."""
        labels = self.labels.to(device) if self.labels is not None else None
        return Dataset(self.samples.to(device), labels, self.num_classes, self.name)

    def subset(self, fraction: float, seed: int) -> "Dataset":
        """A seeded `fraction` of the samples (at least one), in their original order: small-data runs on
        a share of a large set (Zhao et al. 2020 train on 10% and 20% of CIFAR-10)."""
        keep = max(1, round(fraction * len(self)))
        index = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:keep].sort().values
        labels = self.labels[index] if self.labels is not None else None
        return Dataset(self.samples[index], labels, self.num_classes, f"{self.name} ({keep} of {len(self)})")

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Samples `index` as float32 (images in [-1, 1]) and their labels."""
        x = self.samples[index]
        x = x.float().div_(127.5).sub_(1.0) if self.is_image else x.float()
        y = self.labels[index] if self.labels is not None else None
        return x, y


class BatchOrder:
    """Reshuffled epochs of batch indices whose position is two integers, so a resumed run continues exactly.

    Epoch e's order is a permutation seeded by (seed, e); a batch never straddles two epochs (the tail of
    an epoch that does not fill a batch is skipped, as `drop_last=True` would). With `mirror`, the same
    seeded draw also decides which samples of the epoch are flipped left to right, so the flips need no
    state of their own either, and every rank of a distributed run draws the global batch's.
    """

    def __init__(self, size: int, batch_size: int, seed: int, mirror: bool = False) -> None:
        if size < batch_size:
            raise ValueError(f"dataset has {size} samples, fewer than one batch of {batch_size}")
        self.size, self.batch_size, self.seed, self.mirror = size, batch_size, seed, mirror
        self.epoch, self.position = 0, 0
        self._order, self._flips = self._permutation(0)

    def _permutation(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(self.size, generator=generator)
        return order, (torch.rand(self.size, generator=generator) < 0.5) if self.mirror else None

    def next(self, batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next batch's indices and, with `mirror`, which of them to flip; `batch_size` overrides the
        default (progressive growing varies it)."""
        n = batch_size or self.batch_size
        if n > self.size:
            raise ValueError(f"dataset has {self.size} samples, fewer than one batch of {n}")
        if self.position + n > self.size:
            self.epoch, self.position = self.epoch + 1, 0
            self._order, self._flips = self._permutation(self.epoch)
        part = slice(self.position, self.position + n)
        self.position += n
        return self._order[part], self._flips[part] if self._flips is not None else None

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._order, self._flips = self._permutation(self.epoch)


def mirrored(images: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """`images` `[N, C, H, W]` with those where `flips` `[N]` is true flipped left to right."""
    return torch.where(flips.view(-1, 1, 1, 1), images.flip(3), images)
