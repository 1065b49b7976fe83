"""Fitting uint8 images of any size and channel count to the square resolution and channels a run asks for."""
from __future__ import annotations

import torch
import torch.nn.functional as F

# ITU-R 601 luma weights, the ones PIL uses for mode "L".
_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
_CHUNK = 8192  # images resized at a time, so a 60000-image set never needs a float copy of itself


def _centre_crop(images: torch.Tensor) -> torch.Tensor:
    h, w = images.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return images[..., top:top + side, left:left + side]


def _pad(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Zero (black) border, split evenly: 28 -> 32 adds 2 pixels on each side."""
    n, c, side, _ = images.shape
    before = (resolution - side) // 2
    out = images.new_zeros(n, c, resolution, resolution)
    out[:, :, before:before + side, before:before + side] = images
    return out


def _area_resize(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Area averaging, the usual anti-aliased shrink, rounded back to uint8."""
    parts = [F.interpolate(chunk.float(), size=(resolution, resolution), mode="area").round_().to(torch.uint8)
             for chunk in images.split(_CHUNK)]
    return torch.cat(parts) if parts else images.new_zeros(0, images.shape[1], resolution, resolution)


def _to_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    c = images.shape[1]
    if c == channels:
        return images
    if c == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        parts = [(chunk.float() * _LUMA).sum(1, keepdim=True).round_().to(torch.uint8)
                 for chunk in images.split(_CHUNK)]
        return torch.cat(parts) if parts else images.new_zeros(0, 1, *images.shape[2:])
    raise ValueError(f"cannot convert {c} channels to {channels}")


def fit_images(images: torch.Tensor, resolution: int, channels: int | None) -> torch.Tensor:
    """uint8 `[N, C, H, W]` -> uint8 `[N, channels or C, resolution, resolution]`.

    Non-square images are centre-cropped to a square; smaller ones are padded with zeros (so MNIST's
    28x28 digits keep every pixel at 32x32, the DCGAN size), larger ones are area-averaged down.
    Channels go 1 -> 3 by repetition and 3 -> 1 by luma.
    """
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(f"expected uint8 [N, C, H, W] images, got {images.dtype} {list(images.shape)}")
    images = _centre_crop(images)
    side = images.shape[-1]
    if side < resolution:
        images = _pad(images, resolution)
    elif side > resolution:
        images = _area_resize(images, resolution)
    return _to_channels(images, channels) if channels is not None else images.contiguous()
