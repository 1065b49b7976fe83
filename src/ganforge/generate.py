"""Sampling from a trained generator: any checkpoint, no original config needed."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from . import viz
from .engine.checkpoint import load_checkpoint, load_state
from .errors import GanforgeError
from .latent import interpolation_rows
from .models import rebuild


def load_generator(checkpoint: str | Path, ema: bool = True, device: str | torch.device = "cpu") -> nn.Module:
    """The generator stored in `checkpoint` (a file or run directory), in eval mode.

    With `ema`, the EMA weights are used when the run kept them, since they give the better samples.
    """
    payload = load_checkpoint(checkpoint)
    G = rebuild(payload["models"], "generator")
    state = payload["generator_ema"] if ema and payload.get("generator_ema") is not None else payload["generator"]
    load_state(G, state, "generator", str(checkpoint))
    return G.to(device).eval().requires_grad_(False)


@torch.no_grad()
def generate(G: nn.Module, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """G(z) in batches, on G's device, returned on the CPU as float32."""
    device = next(G.parameters()).device
    return torch.cat([G(chunk.to(device)).float().cpu() for chunk in z.split(batch_size)])


def latents(G: nn.Module, n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))


def sample_to_file(checkpoint: str | Path, out: str | Path, n: int = 64, seed: int = 0,
                   ema: bool = True) -> Path:
    """Save `n` samples as an image grid (image models) or a scatter/density plot (toy models)."""
    if n <= 0:
        raise GanforgeError(f"--n must be positive, got {n}")
    G = load_generator(checkpoint, ema)
    return viz.save_samples(generate(G, latents(G, n, seed)), Path(out))


def interpolate_to_file(checkpoint: str | Path, out: str | Path, rows: int = 8, steps: int = 10,
                        method: str = "slerp", seed: int = 0, ema: bool = True) -> Path:
    """The DCGAN paper's latent walk: each row moves between two random latents in `steps` steps."""
    if rows <= 0 or steps < 2:
        raise GanforgeError(f"need rows >= 1 and steps >= 2, got rows={rows}, steps={steps}")
    G = load_generator(checkpoint, ema)
    z = latents(G, 2 * rows, seed)
    try:
        path_z = interpolation_rows(z[:rows], z[rows:], steps, method)
    except ValueError as exc:
        raise GanforgeError(str(exc)) from None
    images = generate(G, path_z)
    if images.dim() != 4:
        raise GanforgeError("interpolation pictures need an image model; this checkpoint holds a toy model")
    return viz.save_image_grid(images, Path(out), nrow=steps)
