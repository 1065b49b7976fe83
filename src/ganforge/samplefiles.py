"""Samples as files other tools read: a folder of numbered PNGs (clean-fid, torch-fidelity) or an .npz of
uint8 `[N, H, W, C]` under `arr_0`, with class labels under `arr_1` (the layout of OpenAI's guided-diffusion
evaluator). Both are written chunk by chunk, so memory stays bounded for any N, and read back for
`ganforge eval --samples`.

Generated images in [-1, 1] become pixels by the one rule `to_uint8`; evaluation of a generator applies the
same rule (`from_uint8(to_uint8(x))`), so a file scores exactly what the generator it came from scored.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .data.folder import EXTENSIONS
from .errors import DataError, GanforgeError
from .fileio import umask
from .outputs import check_file, check_folder, sample_kind


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images `[N, C, H, W]` in [-1, 1] (clipped) -> pixels 0..255, rounded to the nearest level."""
    return ((images.detach().float().cpu().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)


def from_uint8(pixels: torch.Tensor) -> torch.Tensor:
    """Pixels 0..255 -> [-1, 1], the same map the datasets use for real images."""
    return pixels.float().div_(127.5).sub_(1.0)


class FolderWriter:
    """Numbered PNGs `000000.png, 000001.png, ...` written into a hidden folder beside `folder` and renamed to
    it at the end, so an export is either whole or absent. `folder` must be new or empty (old images there
    would be scored with the new ones)."""

    def __init__(self, folder: Path, n: int) -> None:
        check_folder(folder, empty=True, why=", which would be scored with the new samples")
        folder.parent.mkdir(parents=True, exist_ok=True)
        self.folder, self.width, self.written = folder, max(6, len(str(n - 1))), 0
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=folder.parent))

    def write(self, pixels: torch.Tensor, labels: torch.Tensor | None) -> None:
        for image in pixels.numpy():
            array = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
            Image.fromarray(array).save(self._tmp / f"{self.written:0{self.width}d}.png")
            self.written += 1

    def close(self) -> Path:
        os.chmod(self._tmp, 0o777 & ~umask())  # mkdtemp's private 0700 would surprise a shared machine
        os.rename(self._tmp, self.folder)  # replaces the folder when it is empty; refused if it filled meanwhile
        return self.folder

    def abort(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


class NpzWriter:
    """`arr_0` (uint8 `[N, H, W, C]`) streamed into the archive as it is generated; `arr_1` (int64 labels,
    8 bytes a sample) is held until the end because a zip takes one member at a time. Written beside the
    target and renamed at the end, so an interrupted export leaves no half file."""

    def __init__(self, path: Path, n: int, shape: tuple[int, int, int]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.labels = path, []
        self._tmp = path.with_name(f".{path.name}.part")
        self._zip = zipfile.ZipFile(self._tmp, "w", zipfile.ZIP_STORED, allowZip64=True)
        self._member = self._zip.open("arr_0.npy", "w", force_zip64=True)
        channels, height, width = shape
        np.lib.format.write_array_header_1_0(self._member, {
            "descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
            "shape": (n, height, width, channels)})

    def write(self, pixels: torch.Tensor, labels: torch.Tensor | None) -> None:
        self._member.write(np.ascontiguousarray(pixels.numpy().transpose(0, 2, 3, 1)).tobytes())
        if labels is not None:
            self.labels.append(labels.numpy().astype(np.int64))

    def close(self) -> Path:
        self._member.close()
        if self.labels:
            with self._zip.open("arr_1.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.concatenate(self.labels), allow_pickle=False)
        self._zip.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        self._member.close()
        self._zip.close()
        self._tmp.unlink(missing_ok=True)


def open_writer(out: str | Path, n: int, shape: tuple[int, int, int]) -> FolderWriter | NpzWriter:
    kind = sample_kind(out)
    if kind == "npz":
        return NpzWriter(check_file(out, (".npz",)), n, shape)
    if kind == "folder":
        return FolderWriter(Path(out), n)
    raise GanforgeError(f"--out {out}: sample files go to a FOLDER/ or a FILE.npz")


def read_samples(path: str | Path) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pixels uint8 `[N, C, H, W]` and labels `[N]` (None when absent) from an .npz or a folder of images.

    An .npz holds `arr_0` (or `x` / `images`) as `[N, H, W]` or `[N, H, W, C]` with C 1 or 3, and optionally
    labels under `arr_1` (or `y` / `labels`). A folder holds PNG/JPEG files of one size, read in name order.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        return _read_folder(path), None
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix.lower() != ".npz" or not zipfile.is_zipfile(path):
        what = "not an .npz archive" if path.suffix.lower() == ".npz" else "not an .npz file"
        raise DataError(f"{path}: {what}; samples are read from FILE.npz (uint8 arrays) or a folder of "
                        "PNG/JPEG images")
    try:
        with np.load(path, allow_pickle=False) as archive:
            images = next((archive[k] for k in ("arr_0", "x", "images") if k in archive.files), None)
            labels = next((archive[k] for k in ("arr_1", "y", "labels") if k in archive.files), None)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: cannot read as .npz ({exc})") from None
    if images is None:
        raise DataError(f"{path}: no images under arr_0, x or images")
    if images.ndim >= 1 and len(images) == 0:
        raise DataError(f"{path}: holds no images (its array of images is empty)")
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] not in (1, 3)):
        raise DataError(f"{path}: images must be uint8 [N, H, W] or [N, H, W, C] with C 1 or 3, got "
                        f"{images.dtype} {list(images.shape)}")
    pixels = _channels_first(images[..., None] if images.ndim == 3 else images)
    if labels is not None and labels.shape != (len(pixels),):
        raise DataError(f"{path}: {labels.shape} labels for {len(pixels)} images")
    return pixels, (torch.from_numpy(labels.astype(np.int64)) if labels is not None else None)


def _channels_first(images: np.ndarray) -> torch.Tensor:
    """`[N, H, W, C]` -> a fresh `[N, C, H, W]` in the standard layout. (`.contiguous()` would keep the odd
    strides of a size-1 channel axis, and the classifier's convolutions round differently on them.)"""
    pixels = torch.from_numpy(images).permute(0, 3, 1, 2)
    return torch.empty(pixels.shape, dtype=torch.uint8).copy_(pixels)


def _read_folder(folder: Path) -> torch.Tensor:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not files:
        raise DataError(f"{folder}: no images ({', '.join(sorted(EXTENSIONS))}) found")
    arrays = []
    for path in files:
        try:
            with Image.open(path) as image:
                array = np.asarray(image if image.mode == "L" else image.convert("RGB"))
        except (OSError, ValueError, SyntaxError) as exc:
            raise DataError(f"{path}: cannot read image ({exc})") from None
        if arrays and array.shape != arrays[0].shape:
            raise DataError(f"{path}: {array.shape} differs from {files[0].name}'s {arrays[0].shape}; "
                            "all samples must share one size and mode")
        arrays.append(array)
    stacked = np.stack(arrays)
    return _channels_first(stacked[..., None] if stacked.ndim == 3 else stacked)
