"""Images (and optional labels) in a NumPy .npz file, read without unpickling anything."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset
from .transform import fit_images

IMAGE_KEYS = ("x", "images")
LABEL_KEYS = ("y", "labels")


def _first(archive: np.lib.npyio.NpzFile, keys: tuple[str, ...], path: Path) -> np.ndarray | None:
    for key in keys:
        if key in archive.files:
            try:
                return archive[key]
            except (ValueError, OSError, zipfile.BadZipFile) as exc:  # object arrays need pickle: refused
                raise DataError(f"{path}: cannot read array {key!r} ({exc})") from None
    return None


def _to_nchw(images: np.ndarray, path: Path) -> np.ndarray:
    """`[N, H, W]`, `[N, H, W, C]` or `[N, C, H, W]` with C in {1, 3} -> `[N, C, H, W]`."""
    if images.ndim == 3:
        return images[:, None]
    if images.ndim == 4:
        if images.shape[1] in (1, 3):
            return images
        if images.shape[3] in (1, 3):
            return images.transpose(0, 3, 1, 2)
    raise DataError(f"{path}: images must be [N, H, W], [N, H, W, C] or [N, C, H, W] with C 1 or 3, "
                    f"found shape {list(images.shape)}")


def _to_uint8(images: np.ndarray, path: Path) -> np.ndarray:
    if images.dtype == np.uint8:
        return images
    if np.issubdtype(images.dtype, np.floating):
        if images.size and not (np.isfinite(images).all() and images.min() >= 0 and images.max() <= 1):
            raise DataError(f"{path}: float images must lie in [0, 1]")
        return np.rint(images * 255).astype(np.uint8)
    raise DataError(f"{path}: images must be uint8 (or float in [0, 1]), found {images.dtype}")


@DATASETS.register("npz", help="images under 'x' or 'images', labels under 'y' or 'labels', in data.root")
def load_npz(config: DataConfig) -> Dataset:
    """Images `[N, C, R, R]` uint8, labels int64 `[N]` (num_classes = max + 1) or None.

    Accepts uint8 images, or floating images in [0, 1], which are scaled by 255 and rounded to uint8.
    `np.load(allow_pickle=False)` refuses object arrays, so a file cannot run code when it is loaded.
    """
    if config.root is None:
        raise DataError("npz: set data.root to a .npz file")
    path = Path(config.root).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with open(path, "rb") as file:
        magic = file.read(6)
    if magic == b"\x93NUMPY":
        raise DataError(f"{path}: a single .npy array, not an .npz archive of images and labels")
    if not magic.startswith(b"PK"):
        raise DataError(f"{path}: not an .npz file (it is not a zip archive)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    with archive:
        images = _first(archive, IMAGE_KEYS, path)
        labels = _first(archive, LABEL_KEYS, path)
    if images is None:
        raise DataError(f"{path}: no images under 'x' or 'images'; keys are {archive.files}")
    images = _to_uint8(_to_nchw(images, path), path)
    samples = fit_images(torch.from_numpy(np.ascontiguousarray(images)), config.resolution, config.channels)
    if labels is None:
        return Dataset(samples, None, num_classes=0, name="npz")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or len(labels) != len(images):
        raise DataError(f"{path}: labels must be integers [N] with N = {len(images)}, "
                        f"found {labels.dtype} {list(labels.shape)}")
    if len(labels) and labels.min() < 0:
        raise DataError(f"{path}: negative label {int(labels.min())}")
    num_classes = int(labels.max()) + 1 if len(labels) else 0
    return Dataset(samples, torch.from_numpy(labels.astype(np.int64)), num_classes=num_classes, name="npz")
