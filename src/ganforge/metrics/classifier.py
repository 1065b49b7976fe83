"""A small Fashion-MNIST classifier whose penultimate features stand in for Inception's on this domain.

Inception weights cannot be fetched on offline machines, and Inception features of 32x32 grayscale clothes
are a poor fit anyway. This CNN is trained by `scripts/train_classifier.py` (seeded) and its weights ship
with ganforge as `weights/fmnist_cnn.safetensors`, with the training command and test accuracy stored in
the file's metadata. Its 128-d global-average-pooled features feed `fd_fmnist`, `kd_fmnist` and precision/
recall; its class predictions feed class coverage.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError

FEATURES = 128
CLASSES = 10
RESOLUTION = 32
WEIGHTS = "fmnist_cnn.safetensors"


def _block(n_in: int, n_out: int) -> list[nn.Module]:
    return [nn.Conv2d(n_in, n_out, 3, padding=1, bias=False), nn.BatchNorm2d(n_out), nn.ReLU(inplace=True)]


class FashionClassifier(nn.Module):
    """Images `[N, 1, 32, 32]` in [-1, 1] -> class logits `[N, 10]`; `features` gives `[N, 128]`."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_block(1, 32), nn.MaxPool2d(2),                       # 16x16
            *_block(32, 64), *_block(64, 64), nn.MaxPool2d(2),     # 8x8
            *_block(64, FEATURES), *_block(FEATURES, FEATURES),    # 8x8, averaged below
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURES, CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def to_classifier_input(images: torch.Tensor) -> torch.Tensor:
    """Fit any images `[N, C, H, W]` in [-1, 1] to the classifier's `[N, 1, 32, 32]`: channel mean, then
    bilinear resizing (antialiased when shrinking) if the size differs."""
    x = images.float()
    if x.shape[1] != 1:
        x = x.mean(dim=1, keepdim=True)
    if x.shape[-2:] != (RESOLUTION, RESOLUTION):
        x = F.interpolate(x, size=(RESOLUTION, RESOLUTION), mode="bilinear", align_corners=False,
                          antialias=x.shape[-1] > RESOLUTION)
    return x


def weights_path() -> Path:
    return Path(str(resources.files("ganforge") / "metrics" / "weights" / WEIGHTS))


@lru_cache(maxsize=None)
def load_classifier(path: str | None = None) -> FashionClassifier:
    """The shipped classifier (or the one at `path`) in eval mode on the CPU."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    file = Path(path) if path else weights_path()
    if not file.is_file():
        raise CheckpointError(f"classifier weights {file} are missing; run scripts/train_classifier.py")
    model = FashionClassifier()
    try:
        model.load_state_dict(load_file(str(file)))
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise CheckpointError(f"{file}: not usable classifier weights ({str(exc).splitlines()[0][:160]})") from None
    return model.eval().requires_grad_(False)


def weights_metadata(path: str | None = None) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(Path(path) if path else weights_path()), framework="pt") as handle:
        return dict(handle.metadata() or {})


@torch.no_grad()
def classify(images: torch.Tensor, batch_size: int = 500,
             model: FashionClassifier | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Features `[N, 128]` (float64) and predicted classes `[N]` of images `[N, C, H, W]` in [-1, 1]."""
    model = model or load_classifier()
    features, labels = [], []
    for chunk in images.split(batch_size):
        f = model.features(to_classifier_input(chunk))
        features.append(f.double())
        labels.append(model.head(f).argmax(dim=1))
    if not features:
        return torch.zeros(0, FEATURES, dtype=torch.float64), torch.zeros(0, dtype=torch.long)
    return torch.cat(features), torch.cat(labels)
