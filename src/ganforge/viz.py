"""Pictures that people read faster than numbers: sample grids and plots of low-dimensional samples.

Every writer saves to a temporary file beside the target and renames it, so a picture is never half-written.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from .fileio import atomic_path


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile images `[N, C, H, W]` in [-1, 1] (C = 1 or 3) into a uint8 picture `[H', W', C]`.

    `nrow` images per row (default: a square-ish grid). The gaps are black, the background of most data.
    """
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    pixels = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    grid = torch.zeros(c, rows * (h + padding) + padding, nrow * (w + padding) + padding, dtype=torch.uint8)
    for i in range(n):
        top, left = padding + (i // nrow) * (h + padding), padding + (i % nrow) * (w + padding)
        grid[:, top:top + h, left:left + w] = pixels[i]
    return grid.permute(1, 2, 0).numpy()


def save_image_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 2) -> Path:
    """Save `images` `[N, C, H, W]` in [-1, 1] as a PNG grid, upscaled `scale` times (nearest neighbour) so
    32x32 samples stay readable."""
    path = Path(path)
    grid = image_grid(images, nrow)
    picture = Image.fromarray(grid[:, :, 0] if grid.shape[2] == 1 else grid)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")
    return path


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display here or in CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(plt, fig, path: Path) -> Path:
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def save_points(fake: torch.Tensor, path: str | Path, real: torch.Tensor | None = None,
                centres: torch.Tensor | None = None, title: str = "") -> Path:
    """Scatter plot of 2-D samples `[N, 2]` over the real ones (grey) and the mode centres (crosses)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=4, c="0.75", label="real", linewidths=0)
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:blue", alpha=0.6, label="generated", linewidths=0)
    if centres is not None:
        ax.scatter(centres[:, 0], centres[:, 1], marker="x", c="tab:red", s=40, label="modes")
    if real is not None:  # fixed limits around the data, so snapshots over training compare at a glance
        low, high = real.min(0).values, real.max(0).values
        centre, half = ((low + high) / 2).tolist(), 0.75 * (high - low).max().item() + 1e-3
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[1] - half, centre[1] + half)
        ax.set_aspect("equal")
    else:
        ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    return save_figure(plt, fig, Path(path))


def save_density_1d(fake: torch.Tensor, path: str | Path, real: torch.Tensor | None = None,
                    discriminator: Callable[[torch.Tensor], torch.Tensor] | None = None,
                    title: str = "") -> Path:
    """Goodfellow et al. 2014, Figure 1: densities of real (black, dotted) and generated (green) samples
    `[N, 1]`, and the discriminator's D(x) (blue, dashed) on the right axis in [0, 1]."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    values = [fake.flatten()] + ([real.flatten()] if real is not None else [])
    low = min(v.min().item() for v in values)
    high = max(v.max().item() for v in values)
    margin = 0.1 * (high - low) + 1e-3
    bins = np.linspace(low - margin, high + margin, 60)
    if real is not None:
        ax.hist(real.flatten().numpy(), bins=bins, density=True, histtype="step", color="black",
                linestyle=":", label="data")
    ax.hist(fake.flatten().numpy(), bins=bins, density=True, histtype="step", color="green",
            label="generated")
    ax.set_ylabel("density")
    if discriminator is not None:
        x = torch.linspace(bins[0], bins[-1], 200).unsqueeze(1)
        d_axis = ax.twinx()
        d_axis.plot(x.squeeze(1).numpy(), discriminator(x).reshape(-1).numpy(), "b--", label="D(x)")
        d_axis.set_ylim(0, 1)
        d_axis.set_ylabel("D(x)")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title)
    return save_figure(plt, fig, Path(path))


def save_samples(samples: torch.Tensor, path: str | Path, real: torch.Tensor | None = None) -> Path:
    """Images `[N, C, H, W]` as a grid, 2-D points as a scatter plot, 1-D samples as densities."""
    if samples.dim() == 4:
        return save_image_grid(samples, path)
    if samples.dim() == 2 and samples.shape[1] == 2:
        return save_points(samples, path, real=real)
    if samples.dim() == 2 and samples.shape[1] == 1:
        return save_density_1d(samples, path, real=real)
    raise ValueError(f"cannot picture samples of shape {list(samples.shape)}")


def join_pictures(paths: list[Path], out: str | Path, captions: list[str], gap: int = 8) -> Path:
    """The pictures at `paths` in one row, each with its caption above it (e.g. a growing run's stages)."""
    from PIL import ImageDraw

    images = [Image.open(p).convert("RGB") for p in paths]
    caption = 16
    height = max(image.height for image in images) + caption
    canvas = Image.new("RGB", (sum(image.width + gap for image in images) - gap, height), "white")
    draw = ImageDraw.Draw(canvas)
    left = 0
    for image, text in zip(images, captions):
        canvas.paste(image, (left, caption))
        draw.text((left + 4, 2), text, fill="black")
        left += image.width + gap
    out = Path(out)
    with atomic_path(out) as tmp:
        canvas.save(tmp, format="PNG")
    return out


def save_curves(records: list[dict], patterns: list[str], path: str | Path, title: str = "") -> Path:
    """Line plot over `step` of every logged key matching one of the glob `patterns` (e.g. `sigma/d/*`),
    for readers without TensorBoard. Raises ValueError when no key matches."""
    from fnmatch import fnmatch

    keys = list(dict.fromkeys(k for r in records for k in r if k != "step"
                              and any(fnmatch(k, p) for p in patterns)))
    if not keys:
        available = sorted({k for r in records for k in r} - {"step"})
        raise ValueError(f"no logged key matches {' '.join(patterns)}; the log has {', '.join(available)}")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in keys:
        points = [(r["step"], r[key]) for r in records if key in r]
        ax.plot(*zip(*points), label=key)
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return save_figure(plt, fig, Path(path))
