"""Paths through latent space, for the DCGAN paper's interpolation figures."""
from __future__ import annotations

import torch

METHODS = ("slerp", "lerp")


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Straight line from `a` to `b` (`[..., D]`)."""
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float, eps: float = 1e-6) -> torch.Tensor:
    """Spherical interpolation between `a` and `b` (`[..., D]`), per vector (White 2016).

    Gaussian latents concentrate near a sphere; a straight line between two of them passes through
    low-norm points the generator rarely saw, a great-circle arc does not. Nearly parallel vectors fall back
    to `lerp`, where the arc and the line coincide.
    """
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    if t.dim() and t.shape[-1] != 1:
        t = t.unsqueeze(-1)
    a_unit = a / a.norm(dim=-1, keepdim=True).clamp_min(eps)
    b_unit = b / b.norm(dim=-1, keepdim=True).clamp_min(eps)
    omega = torch.acos((a_unit * b_unit).sum(-1, keepdim=True).clamp(-1.0, 1.0))
    sin_omega = torch.sin(omega)
    parallel = sin_omega.abs() < eps
    safe = torch.where(parallel, torch.ones_like(sin_omega), sin_omega)
    arc = (torch.sin((1.0 - t) * omega) * a + torch.sin(t * omega) * b) / safe
    return torch.where(parallel, lerp(a, b, t), arc)


def interpolation_rows(starts: torch.Tensor, ends: torch.Tensor, steps: int,
                       method: str = "slerp") -> torch.Tensor:
    """Rows of latents walking from `starts[i]` to `ends[i]` (`[R, D]` each) in `steps` points, both ends
    included; returns `[R * steps, D]`, row by row."""
    if method not in METHODS:
        raise ValueError(f"unknown interpolation method {method!r}; known: {', '.join(METHODS)}")
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
    t = torch.linspace(0.0, 1.0, steps, dtype=starts.dtype)[None, :, None]  # [1, steps, 1]
    fn = slerp if method == "slerp" else lerp
    path = fn(starts[:, None, :], ends[:, None, :], t)  # [R, steps, D]
    return path.reshape(-1, starts.shape[-1])
