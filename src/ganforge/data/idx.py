"""MNIST-style IDX files (Fashion-MNIST, MNIST): a strict reader and the two registered loaders.

IDX layout: magic `00 00 <dtype> <ndim>`, then `ndim` big-endian uint32 sizes, then the data row-major.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset
from .transform import fit_images

SPLITS = {"train": "train", "test": "t10k"}
# The four files of an IDX dataset, without the optional ".gz".
KINDS = ("images-idx3", "labels-idx1")
FILES = tuple(f"{prefix}-{kind}-ubyte" for prefix in SPLITS.values() for kind in KINDS)
_SYSTEM_ROOTS = {"fashion-mnist": "/usr/share/datasets/fashion-mnist", "mnist": "/usr/share/datasets/mnist"}
_UINT8 = 0x08


def cache_dir(name: str) -> Path:
    """Where `ganforge download` puts a dataset by default: ~/.cache/ganforge/NAME."""
    return Path.home() / ".cache" / "ganforge" / name


def read_idx(path: str | Path) -> np.ndarray:
    """Read a uint8 IDX file, gzipped or plain, into an array of its declared shape.

    Anything that is not exactly a well-formed uint8 IDX file raises `DataError` naming the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc})") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise DataError(f"{path}: not an IDX file (bad magic {raw[:4].hex(' ') or 'empty'})")
    dtype, ndim = raw[2], raw[3]
    if dtype != _UINT8:
        raise DataError(f"{path}: IDX data type 0x{dtype:02x} is not supported (only 0x08, uint8)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header ({ndim} dimensions need {header} bytes, found {len(raw)})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected, found = int(np.prod(shape, dtype=np.int64)), len(raw) - header
    if found < expected:
        raise DataError(f"{path}: truncated (expected {expected} bytes of data, found {found})")
    if found > expected:
        raise DataError(f"{path}: {found - expected} unexpected bytes after the data (shape {list(shape)})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find(root: Path, stem: str) -> Path | None:
    for path in (root / f"{stem}.gz", root / stem):
        if path.is_file():
            return path
    return None


def _resolve_root(name: str, root: str | None) -> Path:
    """The folder holding all four files: `root`, else the system copy, else the download cache."""
    candidates = [Path(root).expanduser()] if root else [Path(_SYSTEM_ROOTS[name]), cache_dir(name)]
    for folder in candidates:
        if all(_find(folder, stem) for stem in FILES):
            return folder
    where = " or ".join(str(c) for c in candidates)
    system = f"install Debian's dataset-{name}, " if name == "fashion-mnist" else ""
    raise DataError(f"{name} not found in {where}: {system}pass data.root=DIR, "
                    f"or run `ganforge download {name}`")


def load_idx_dataset(name: str, config: DataConfig) -> Dataset:
    """Images `[N, C, R, R]` uint8 (28x28 padded or area-resized to R = config.resolution), labels `[N]`."""
    prefix = SPLITS.get(config.split)
    if prefix is None:
        raise DataError(f"{name}: unknown split {config.split!r} (train or test)")
    root = _resolve_root(name, config.root)
    images_path, labels_path = (_find(root, f"{prefix}-{kind}-ubyte") for kind in KINDS)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataError(f"{images_path}: expected images [N, H, W], found shape {list(images.shape)}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected labels [N], found shape {list(labels.shape)}")
    if len(labels) != len(images):
        raise DataError(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}")
    if len(labels) and labels.max() >= 10:
        raise DataError(f"{labels_path}: label {int(labels.max())} outside 0..9")
    samples = fit_images(torch.from_numpy(images.copy()).unsqueeze(1), config.resolution, config.channels)
    return Dataset(samples, torch.from_numpy(labels.astype(np.int64)), num_classes=10, name=name)


@DATASETS.register("fashion-mnist", help="Zalando's 28x28 clothing images, 10 classes (IDX files)")
def load_fashion_mnist(config: DataConfig) -> Dataset:
    return load_idx_dataset("fashion-mnist", config)


@DATASETS.register("mnist", help="LeCun's 28x28 handwritten digits, 10 classes (IDX files)")
def load_mnist(config: DataConfig) -> Dataset:
    return load_idx_dataset("mnist", config)
