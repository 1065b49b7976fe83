"""Helpers shared by the data tests: hand-built IDX files."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np


def idx_bytes(array: np.ndarray) -> bytes:
    """A uint8 IDX file's bytes: magic 00 00 08 ndim, big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write `array` as IDX, gzipped when the name ends in .gz."""
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_idx_dataset(root: Path, n_train: int = 6, n_test: int = 4, seed: int = 0, gz: bool = True) -> dict:
    """The four files of a tiny MNIST-like dataset in `root`; returns the arrays written, by file stem."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        arrays[f"{prefix}-images-idx3-ubyte"] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        arrays[f"{prefix}-labels-idx1-ubyte"] = rng.integers(0, 10, size=n, dtype=np.uint8)
    for stem, array in arrays.items():
        write_idx(root / (stem + (".gz" if gz else "")), array)
    return arrays
