"""CIFAR-10, binary version: records of 1 label byte then a 3x32x32 image (R, G, B planes, row-major)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset
from .idx import cache_dir
from .transform import fit_images

FOLDER = "cifar-10-batches-bin"
SPLITS = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
RECORD = 1 + 3 * 32 * 32
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> images uint8 `[N, 3, 32, 32]`, labels uint8 `[N]`."""
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(raw) == 0 or len(raw) % RECORD:
        raise DataError(f"{path}: {len(raw)} bytes is not a whole number of {RECORD}-byte CIFAR-10 records")
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0]
    if labels.max() >= 10:
        raise DataError(f"{path}: label {int(labels.max())} outside 0..9; is this the CIFAR-100 file?")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


@DATASETS.register("cifar10", help="CIFAR-10 binary version: 32x32 colour images, 10 classes")
def load_cifar10(config: DataConfig) -> Dataset:
    """Images `[N, C, R, R]` uint8 (50000 train, 10000 test; C = 3 unless config.channels is 1)."""
    if config.split not in SPLITS:
        raise DataError(f"cifar10: unknown split {config.split!r} (train or test)")
    root = Path(config.root).expanduser() if config.root else cache_dir(FOLDER)
    missing = [name for name in SPLITS[config.split] if not (root / name).is_file()]
    if missing:
        hint = "" if config.root else f" (or unpack it into {root.parent})"
        raise DataError(f"cifar10: {', '.join(missing)} not found in {root}: unpack {URL} "
                        f"and pass data.root=PATH/{FOLDER}{hint}")
    parts = [read_cifar_batch(root / name) for name in SPLITS[config.split]]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    samples = fit_images(torch.from_numpy(images), config.resolution, config.channels)
    return Dataset(samples, torch.from_numpy(labels), num_classes=10, name="cifar10")
