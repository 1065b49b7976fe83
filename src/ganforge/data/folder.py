"""A folder of PNG/JPEG images, optionally one sub-folder per class (the torchvision ImageFolder layout)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from tqdm import tqdm

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .base import Dataset

EXTENSIONS = {".png", ".jpg", ".jpeg"}
_PROGRESS_OVER = 1000  # files; smaller folders load too fast for a bar to help


def _images_in(folder: Path, recursive: bool) -> list[Path]:
    paths = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in paths if p.suffix.lower() in EXTENSIONS and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _scan(root: Path) -> tuple[list[Path], list[int] | None, int]:
    """Files, their labels (None when unlabelled) and the class count; classes are sorted sub-folder names."""
    top = _images_in(root, recursive=False)
    classes = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")
               and _images_in(d, recursive=True)]
    if top and classes:
        raise DataError(f"{root}: has both loose images and class sub-folders; keep only one layout")
    if not classes:
        return top, None, 0
    files, labels = [], []
    for label, folder in enumerate(classes):
        found = _images_in(folder, recursive=True)
        files += found
        labels += [label] * len(found)
    return files, labels, len(classes)


def _load_image(path: Path, resolution: int, mode: str) -> tuple[np.ndarray, int]:
    """Upright (EXIF orientation), centre-cropped to a square, Lanczos-resized: uint8 `[C, R, R]`, and the
    shorter side of the file's image."""
    try:
        with Image.open(path) as image:
            upright = ImageOps.exif_transpose(image)
            side = min(upright.size)
            image = ImageOps.fit(upright.convert(mode), (resolution, resolution), Image.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: cannot read image ({exc})") from None
    array = np.array(image, dtype=np.uint8)
    return (array[None] if array.ndim == 2 else array.transpose(2, 0, 1)), side


@DATASETS.register("folder", help="PNG/JPEG images in data.root; class sub-folders become labels")
def load_folder(config: DataConfig) -> Dataset:
    """Images `[N, C, R, R]` uint8, C = config.channels or 3; labels from sub-folders, else None.

    Every image is resized on its own with PIL (sizes and modes may differ), so `fit_images` is not needed
    here. An unreadable file stops the load with its name rather than being skipped: a silently smaller
    dataset would be a surprise. Images smaller than the resolution are refused too (upscaling would train G
    on blur); the error names one and the resolution that would take them all.
    """
    if config.root is None:
        raise DataError("folder: set data.root to a folder of PNG/JPEG images")
    root = Path(config.root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    files, labels, num_classes = _scan(root)
    if not files:
        raise DataError(f"{root}: no images ({', '.join(sorted(EXTENSIONS))}) found")
    channels = config.channels or 3
    mode, r = ("L" if channels == 1 else "RGB"), config.resolution
    samples = torch.empty(len(files), channels, r, r, dtype=torch.uint8)
    bar = tqdm(files, desc=f"loading {root.name}", unit="img", leave=False,
               disable=len(files) <= _PROGRESS_OVER)
    small = []
    for i, path in enumerate(bar):
        array, side = _load_image(path, r, mode)
        samples[i] = torch.from_numpy(array)
        if side < r:
            small.append((side, path))
    if small:
        side, path = min(small)
        raise DataError(f"{root}: {len(small)} of {len(files)} images are smaller than data.resolution={r} "
                        f"(smallest: {path.relative_to(root)}, {side} px on its shorter side); set "
                        f"data.resolution={side} or lower, or remove them")
    label_tensor = torch.tensor(labels, dtype=torch.int64) if labels is not None else None
    return Dataset(samples, label_tensor, num_classes=num_classes, name="folder")
