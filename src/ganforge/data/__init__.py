"""Datasets: each loader is registered by name and returns a `Dataset` held in memory."""
from __future__ import annotations

from ..config import DataConfig
from ..registry import DATASETS
from .base import BatchOrder, Dataset, mirrored
from . import toy, idx, folder, npz, cifar, stacked, elpv  # noqa: F401  (registration)

__all__ = ["BatchOrder", "Dataset", "build_dataset", "mirrored"]


def build_dataset(config: DataConfig) -> Dataset:
    """Load the dataset named by `config.name` (its `data.fraction` share); raises `DataError` with one clear
    line on bad data."""
    dataset = DATASETS.get(config.name)(config)
    return dataset.subset(config.fraction, config.seed) if config.fraction < 1 else dataset
