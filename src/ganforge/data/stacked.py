"""Stacked Fashion-MNIST: three independently drawn garments as the R, G and B channels of one image.

This is StackedMNIST's construction (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018, section 5.2)
with Fashion-MNIST in place of MNIST, so the project's own Fashion-MNIST classifier can name each channel's
class: 10^3 = 1,000 modes, each a class triple. PacGAN's code draws 128,000 triples, every channel
uniformly and independently (with replacement) from MNIST's 70,000 training and test digits pooled. Here the
pools stay apart: `data.split=train` draws from the 60,000 training garments, `test` from the 10,000 test
garments the classifier never saw. The draw is `data.num_samples` triples (PacGAN: 128000), seeded by
`data.seed`, so every run of a comparison trains on the same stacked set.
"""
from __future__ import annotations

import dataclasses

import torch

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset
from .idx import load_idx_dataset

CHANNELS = 3
CLASSES = 10
MODES = CLASSES ** CHANNELS  # 1,000 class triples


def mode_index(classes: torch.Tensor) -> torch.Tensor:
    """Class triples `[N, 3]` (R, G, B channel) -> mode `[N]` = 100 * c_R + 10 * c_G + c_B, in 0..999."""
    weights = torch.tensor([CLASSES ** (CHANNELS - 1 - c) for c in range(CHANNELS)], device=classes.device)
    return (classes.long() * weights).sum(dim=1)


def stack_channels(garments: Dataset, count: int, seed: int, name: str) -> Dataset:
    """`count` images `[count, 3, R, R]` whose channels are garments `[N, 1, R, R]` drawn independently and
    uniformly with replacement (seeded), labelled by `mode_index` of their three classes."""
    if garments.labels is None or garments.sample_shape[0] != 1:
        raise ValueError(f"{garments.name}: stacking needs labelled single-channel images")
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(garments), (count, CHANNELS), generator=generator)
    samples = garments.samples[picks.view(-1)].view(count, CHANNELS, *garments.sample_shape[1:])
    return Dataset(samples, mode_index(garments.labels[picks]), num_classes=MODES, name=name)


@DATASETS.register("stacked-fashion-mnist", help="3 random garments as RGB: 1,000 modes (StackedMNIST); "
                   "data.num_samples, data.seed")
def load_stacked_fashion_mnist(config: DataConfig) -> Dataset:
    """Images `[num_samples, 3, R, R]` uint8, labels int64 `[num_samples]` = the mode index of each triple."""
    if config.channels not in (None, CHANNELS):
        raise DataError(f"stacked-fashion-mnist has {CHANNELS} channels, one garment each; "
                        f"data.channels={config.channels} would mix them")
    garments = load_idx_dataset("fashion-mnist", dataclasses.replace(config, channels=1))
    return stack_channels(garments, config.num_samples, config.seed, "stacked-fashion-mnist")
