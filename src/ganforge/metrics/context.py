"""What metrics consume: generated samples, matching real samples and their classifier features, each
computed once per evaluation and shared by every metric that needs it."""
from __future__ import annotations

import dataclasses
import hashlib
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from ..config import DataConfig
from ..data import Dataset, build_dataset
from . import classifier
from .cache import cached_arrays

# n -> n samples ([n, C, H, W] in [-1, 1], or [n, D] points), or (samples, the classes asked for) when the
# generator is class-conditional
SampleFn = Callable[[int], "torch.Tensor | tuple[torch.Tensor, torch.Tensor]"]


def draw(dataset: Dataset, n: int, seed: int) -> torch.Tensor:
    """A seeded subset of `n` samples of `dataset` (all of it when smaller) as float, images in [-1, 1]."""
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    return dataset.batch(order[:n])[0]


class EvalContext:
    """Lazily built inputs of one evaluation of `sample` against the dataset `data` describes.

    `n` generated samples are compared with `n` real ones (a seeded draw from the training split, or all
    of it when it is smaller). Real-data features are cached on disk under `cache_dir` (None: no cache).
    """

    def __init__(self, sample: SampleFn, data: DataConfig, n: int, seed: int = 0, batch_size: int = 250,
                 cache_dir: Path | None = None, progress: bool = False,
                 discriminator: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.sample, self.data, self.n, self.seed = sample, data, n, seed
        self.batch_size, self.cache_dir, self.progress = batch_size, cache_dir, progress
        self.discriminator = discriminator  # probabilities D(x), for the 1-D optimal-D check

    @cached_property
    def real_dataset(self) -> Dataset:
        return build_dataset(dataclasses.replace(self.data, split="train"))

    @cached_property
    def test_dataset(self) -> Dataset:
        return build_dataset(dataclasses.replace(self.data, split="test"))

    @property
    def is_image(self) -> bool:
        return self.real_dataset.is_image

    def draw(self, dataset: Dataset, n: int, offset: int = 0) -> torch.Tensor:
        return draw(dataset, n, self.seed + offset)

    @cached_property
    def real(self) -> torch.Tensor:
        return self.draw(self.real_dataset, self.n)

    @cached_property
    def _generated(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        chunks, labels, left = [], [], self.n
        with tqdm(total=self.n, desc="generating", unit="img", leave=False, disable=not self.progress) as bar:
            while left > 0:
                chunk = self.sample(min(self.batch_size, left))
                if isinstance(chunk, tuple):
                    chunk, y = chunk
                    labels.append(y.cpu())
                chunks.append(chunk.detach().float().cpu())
                left -= len(chunks[-1])
                bar.update(len(chunks[-1]))
        return torch.cat(chunks)[: self.n], (torch.cat(labels)[: self.n] if labels else None)

    @property
    def fake(self) -> torch.Tensor:
        return self._generated[0]

    @property
    def fake_labels(self) -> torch.Tensor | None:
        """The classes a conditional generator was asked for, one per sample; None when unconditional."""
        return self._generated[1]

    @cached_property
    def fake_classified(self) -> tuple[np.ndarray, np.ndarray]:
        features, labels = classifier.classify(self.fake, self.batch_size)
        return features.numpy(), labels.numpy()

    @cached_property
    def real_classified(self) -> tuple[np.ndarray, np.ndarray]:
        options = {"data": dataclasses.asdict(self.data), "n": self.n, "seed": self.seed,
                   "classifier": _file_digest(classifier.weights_path())}

        def compute() -> dict[str, np.ndarray]:
            features, labels = classifier.classify(self.real, self.batch_size)
            return {"features": features.numpy(), "labels": labels.numpy()}

        arrays = cached_arrays("fmnist-features", options, compute, self.cache_dir)
        return arrays["features"], arrays["labels"]


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "missing"


def tensor_sampler(samples: torch.Tensor, labels: torch.Tensor | None = None) -> SampleFn:
    """A sample function that hands out `samples` in order: evaluates a fixed set (e.g. held-out data, or
    sample files). With `labels` (the classes a conditional G was asked for) it returns them alongside."""
    position = 0

    def sample(n: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        nonlocal position
        if position + n > len(samples):
            raise ValueError(f"asked for {position + n} samples of a set of {len(samples)}")
        chunk = samples[position:position + n]
        position += n
        return chunk if labels is None else (chunk, labels[position - n:position])

    return sample
