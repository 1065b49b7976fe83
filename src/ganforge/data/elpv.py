"""elpv: 2,624 greyscale 300x300 electroluminescence images of solar cells (Buerhop-Lutz et al. 2018;
Deitsch et al. 2019), real small data that installs offline with the optional `elpv-dataset` package
(`pip install ganforge[elpv]`; images under CC BY-NC-SA 4.0, never copied into this repository).

The package has no splits. Here a fixed seeded permutation holds out 10% (262 images) as `data.split=test`,
for scoring a model against images it did not train on; `train` is the other 2,362. The split does not
depend on `data.seed`, so every run shares it. Labels are the module type the cell comes from (0 mono-,
1 polycrystalline); the defect probability the package also gives is not used.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..errors import DataError
from ..fileio import atomic_path
from ..registry import DATASETS
from .base import Dataset
from .transform import fit_images

SIDE = 300                # the package's images are 300x300
HELD_OUT = 0.10           # share of the images in the test split
SPLIT_SEED = 20180924     # fixed: the split must not move between runs (EU PVSEC 2018's first day)
TYPES = ("mono", "poly")  # label 0 and 1
SPLITS = ("train", "test")
INSTALL = "pip install ganforge[elpv]"


def _read_package() -> tuple[np.ndarray, np.ndarray]:
    """All images uint8 `[2624, 300, 300]` and module types `[2624]` ("mono"/"poly") from `elpv-dataset`."""
    try:
        from elpv_dataset.utils import load_dataset
    except ImportError:
        raise DataError(f"elpv: the elpv-dataset package is not installed ({INSTALL})") from None
    images, _, types = load_dataset()
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise DataError(f"elpv: expected uint8 images [N, {SIDE}, {SIDE}] from elpv-dataset, found "
                        f"{images.dtype} {list(images.shape)}")
    return images, np.asarray(types)


def split_indices(count: int, split: str) -> np.ndarray:
    """Sorted indices of `split` among `count` images: the test split is the last 10% of a fixed permutation."""
    if split not in SPLITS:
        raise DataError(f"elpv: unknown split {split!r} (train, or test: a fixed held-out {HELD_OUT:.0%})")
    order = np.random.default_rng(SPLIT_SEED).permutation(count)
    held_out = int(round(count * HELD_OUT))
    return np.sort(order[count - held_out:] if split == "test" else order[:count - held_out])


@DATASETS.register("elpv", help="2,624 300x300 solar-cell images, mono/poly; test: a fixed 10% "
                   "(pip install ganforge[elpv])")
def load_elpv(config: DataConfig) -> Dataset:
    """Images `[N, C, R, R]` uint8, area-averaged from 300x300 to R = `data.resolution`; labels int64 `[N]`."""
    if config.root is not None:
        raise DataError("elpv: the images come from the elpv-dataset package; data.root does not apply "
                        "(for a copy in a file, use data.name=npz)")
    if config.resolution > SIDE:
        raise DataError(f"elpv: data.resolution={config.resolution} is above the images' {SIDE}x{SIDE}")
    images, types = _read_package()
    unknown = sorted(set(types.tolist()) - set(TYPES))
    if unknown:
        raise DataError(f"elpv: unknown module type {unknown[0]!r} in elpv-dataset's labels (expected mono, poly)")
    keep = split_indices(len(images), config.split)
    samples = fit_images(torch.from_numpy(images[keep]).unsqueeze(1), config.resolution, config.channels)
    labels = torch.from_numpy((types[keep] == TYPES[1]).astype(np.int64))
    return Dataset(samples, labels, num_classes=len(TYPES), name="elpv")


def write_elpv_npz(path: str | Path, resolution: int = 128, split: str = "train") -> Path:
    """Write elpv's `split` at `resolution` to a compressed .npz (`x` uint8 `[N, 1, R, R]`, `y` int64 `[N]`)
    that `data.name=npz data.root=PATH` reads, e.g. to carry the data to a machine without the package
    (the 2,362 training images at 128x128 take 24 MiB, the 262 test images 2.7 MiB)."""
    dataset = load_elpv(DataConfig(name="elpv", split=split, resolution=resolution))
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        np.savez_compressed(file, x=dataset.samples.numpy(), y=dataset.labels.numpy())
    return path
