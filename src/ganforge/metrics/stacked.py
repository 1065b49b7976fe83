"""Mode coverage on stacked Fashion-MNIST: the project's Fashion-MNIST classifier names each channel's
garment, so every sample falls in one of 10^3 = 1,000 modes (the class triple's `mode_index`).

The protocol is PacGAN's on StackedMNIST (Lin et al. 2018, section 5.2 and Tables 2-3, following VEEGAN):
26,000 samples; a mode is covered when at least one sample falls in it; and the KL divergence of the
samples' mode histogram p from the uniform distribution of the data, KL(p || u) = sum_k p_k log(1000 p_k),
in nats (0 for a perfectly uniform histogram, log 1000 = 6.91 for one mode). The classifier is 92% accurate
per garment, yet its confusions hardly move the histogram: 26,000 real test triples (`data.split=test`,
seed 0) score 1,000 modes and KL 0.0196, as exact uniform draws of 26,000 modes do (0.019-0.020: the KL of
a finite sample). That is the floor a generator is compared with. Scoring takes 78,000 classifications:
181 s of CPU time, measured on a loaded 2-core machine (so about 1.5 minutes of wall-clock on 2 free cores).
"""
from __future__ import annotations

import numpy as np
import torch

from ..data.stacked import CHANNELS, MODES, mode_index
from ..errors import ConfigError
from .base import register_metric
from .classifier import classify
from .context import EvalContext
from .modes import reverse_kl_to_uniform

SAMPLES = 26_000  # PacGAN scores 26,000 samples per run (VEEGAN's count)


def channel_classes(images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Images `[N, 3, H, W]` in [-1, 1] -> the classifier's class of each channel, int64 `[N, 3]`."""
    if images.dim() != 4 or images.shape[1] != CHANNELS:
        raise ValueError(f"expected images [N, {CHANNELS}, H, W], got {list(images.shape)}")
    n, _, h, w = images.shape
    _, classes = classify(images.reshape(n * CHANNELS, 1, h, w), batch_size)
    return classes.view(n, CHANNELS)


def mode_histogram(modes: np.ndarray) -> np.ndarray:
    """Mode indices `[N]` in 0..999 -> counts `[1000]`."""
    modes = np.asarray(modes)
    if modes.size and (modes.min() < 0 or modes.max() >= MODES):
        raise ValueError(f"mode indices must lie in 0..{MODES - 1}")
    return np.bincount(modes, minlength=MODES)


def mode_scores(modes: np.ndarray) -> dict[str, float]:
    """Modes covered (of 1,000) and KL(p || uniform) in nats of the mode indices `[N]`."""
    counts = mode_histogram(modes)
    return {"stacked_modes": float(np.count_nonzero(counts)), "stacked_kl": reverse_kl_to_uniform(counts)}


def stacked_modes(images: torch.Tensor, batch_size: int = 500) -> dict[str, float]:
    """`mode_scores` of images `[N, 3, H, W]` in [-1, 1], each channel classified on its own."""
    return mode_scores(mode_index(channel_classes(images, batch_size)).numpy())


def stacked_unfit(shape: tuple[int, ...]) -> str:
    if len(shape) == 3 and shape[0] == CHANNELS:
        return ""
    return f"stacked_modes classifies each of {CHANNELS} channels as a garment; these samples are {list(shape)}"


@register_metric("stacked_modes", "image", "stacked Fashion-MNIST: modes of 1,000 covered, KL to uniform "
                 "(PacGAN, 26,000 samples)", keys=("stacked_modes", "stacked_kl"),
                 higher=("stacked_modes",), unfit=stacked_unfit, opt_in=True)
def stacked_modes_metric(context: EvalContext) -> dict[str, float]:
    if context.n < SAMPLES:
        raise ConfigError(f"stacked_modes scores {SAMPLES} samples (PacGAN's count); evaluate with n >= {SAMPLES}, "
                          f"got {context.n}")
    return stacked_modes(context.fake[:SAMPLES], context.batch_size)
