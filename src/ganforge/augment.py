"""Differentiable augmentation of every image D sees (`data.augment`, `data.augment_p`).

On little data D memorises the real images and G's samples stop improving. Zhao et al. 2020 (DiffAugment)
transform *both* real and generated images by the same random, differentiable family T before D, in D's
step and in G's, so D judges T(x) against T(G(z)), G gets gradients through T, and the samples themselves
are not augmented. Karras et al. 2020 (ADA) apply T to each image with a probability p that grows while D
overfits: r_t = E[sign(D(real))] over recent real images, compared with a target of 0.6.

Each policy is a list of ops; an op draws its parameters for a batch (one value per image) and applies them
with a pure function of the images and those parameters. The constants follow the DiffAugment paper and
its code: brightness adds U[-0.5, 0.5), saturation scales the distance to the per-pixel channel mean by
U[0, 2), contrast the distance to the image mean by U[0.5, 1.5) (images in [-1, 1]); translation shifts by
up to 1/8 of each side with zero padding; cutout zeroes a square of half each side, centred anywhere in
the image (so clipped at the borders).

Parameters come from the augmenter's own seeded generator, drawn for the global batch and sliced per rank
as the latents are, so a run on N ranks augments as one process would; its state is part of a checkpoint.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

ADAPTIVE = "adaptive"
ADA_TARGET = 0.6          # ADA: the r_t that p steers towards
ADA_INTERVAL = 4          # ADA: D minibatches between two adjustments of p
ADA_RAMP_IMAGES = 500_000  # ADA: real images over which p could rise from 0 to 1 (the step size)
TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def brightness(x: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """`x` `[N, C, H, W]` plus `offset` `[N]`, one value per image."""
    return x + offset.to(x.dtype).view(-1, 1, 1, 1)


def saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Each pixel's distance to its mean over the channels scaled by `factor` `[N]` (no-op on one channel)."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * factor.to(x.dtype).view(-1, 1, 1, 1) + mean


def contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Each image's distance to its own mean (over channels and pixels) scaled by `factor` `[N]`."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * factor.to(x.dtype).view(-1, 1, 1, 1) + mean


def _inside(index: torch.Tensor, length: int) -> torch.Tensor:
    return (index >= 0) & (index < length)


def translation(x: torch.Tensor, down: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """Image i moved `down[i]` rows and `right[i]` columns (integers `[N]`, negative: up or left); what
    comes in from outside is zero: out[i, :, r, c] = x[i, :, r - down[i], c - right[i]]."""
    n, c, h, w = x.shape
    rows = torch.arange(h, device=x.device) - down.view(-1, 1)   # [N, H]: the source row of each output row
    cols = torch.arange(w, device=x.device) - right.view(-1, 1)  # [N, W]
    moved = x.gather(2, rows.clamp(0, h - 1).view(n, 1, h, 1).expand(n, c, h, w))
    moved = moved.gather(3, cols.clamp(0, w - 1).view(n, 1, 1, w).expand(n, c, h, w))
    inside = _inside(rows, h).view(n, 1, h, 1) & _inside(cols, w).view(n, 1, 1, w)
    return torch.where(inside, moved, 0.0)


def cutout(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Image i with rows top[i] .. top[i] + size[0] - 1 and columns left[i] .. left[i] + size[1] - 1 zeroed
    in every channel (the part of that rectangle inside the image)."""
    n, _, h, w = x.shape
    rows = torch.arange(h, device=x.device) - top.view(-1, 1)
    cols = torch.arange(w, device=x.device) - left.view(-1, 1)
    hole = ((rows >= 0) & (rows < size[0])).view(n, 1, h, 1) & ((cols >= 0) & (cols < size[1])).view(n, 1, 1, w)
    return torch.where(hole, 0.0, x)


def fraction(length: int, ratio: float) -> int:
    """`ratio` of a side in whole pixels, rounded half up (32 -> shift 4, hole 16; 28 -> 4 and 14)."""
    return int(length * ratio + 0.5)


Draw = Callable[[int, int, int, torch.Generator, torch.device], "tuple[torch.Tensor, ...]"]


def _uniform(low: float, high: float) -> Draw:
    def draw(n, h, w, generator, device):
        return (low + (high - low) * torch.rand(n, generator=generator, device=device),)
    return draw


def _shifts(n, h, w, generator, device):
    """Shifts uniform over the integers in [-s, s], s = 1/8 of the side."""
    return tuple(torch.randint(-s, s + 1, (n,), generator=generator, device=device)
                 for s in (fraction(h, TRANSLATION_RATIO), fraction(w, TRANSLATION_RATIO)))


def _corners(n, h, w, generator, device):
    """The hole's top-left corner: its centre uniform over the image, as the DiffAugment code draws it."""
    return tuple(torch.randint(0, side + 1 - size % 2, (n,), generator=generator, device=device) - size // 2
                 for side, size in ((h, fraction(h, CUTOUT_RATIO)), (w, fraction(w, CUTOUT_RATIO))))


def _cutout_half(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
    return cutout(x, top, left, (fraction(x.shape[2], CUTOUT_RATIO), fraction(x.shape[3], CUTOUT_RATIO)))


@dataclass(frozen=True)
class Op:
    """One random transform: `draw(n, h, w, generator, device)` gives its parameters, each `[n]`, and
    `apply(x, *parameters)` transforms the images."""

    draw: Draw
    apply: Callable[..., torch.Tensor]


# data.augment's policy names, in DiffAugment's order of ops within each
POLICIES: dict[str, tuple[Op, ...]] = {
    "color": (Op(_uniform(-0.5, 0.5), brightness), Op(_uniform(0.0, 2.0), saturation),
              Op(_uniform(0.5, 1.5), contrast)),
    "translation": (Op(_shifts, translation),),
    "cutout": (Op(_corners, _cutout_half),),
}


def policy_names(text: str) -> list[str]:
    """`data.augment`'s comma list as names ("" -> none)."""
    return [name.strip() for name in text.split(",")] if text.strip() else []


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


class Augment:
    """The chosen policies, applied to each image with probability p (fixed, or adapted as ADA does).

    `shard` slices a global batch to this rank's share and `ranks` says how many shares there are, so every
    draw is made for the global batch; `mean_over_ranks` averages the overfitting estimate over the ranks,
    so p stays the same on each; `report(name, value)` logs p and r_t.
    """

    def __init__(self, policies: list[str], p: float | str, device: torch.device, seed: int,
                 shard: Callable[[torch.Tensor], torch.Tensor] = _identity, ranks: int = 1,
                 mean_over_ranks: Callable[[torch.Tensor], torch.Tensor] = _identity,
                 report: Callable[[str, torch.Tensor], None] | None = None, target: float = ADA_TARGET,
                 interval: int = ADA_INTERVAL, ramp_images: int = ADA_RAMP_IMAGES) -> None:
        self.ops = [op for name in policies for op in POLICIES[name]]
        self.adaptive = p == ADAPTIVE
        self.fixed = None if self.adaptive else float(p)  # known on the host: p=1 and p=0 need no coin
        self.device = device
        self.p = torch.tensor(0.0 if self.adaptive else float(p), device=device)  # ADA starts at 0
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.shard, self.ranks, self.mean_over_ranks, self.report = shard, ranks, mean_over_ranks, report
        self.target, self.interval, self.ramp_images = target, interval, ramp_images
        self._reset()

    def _reset(self) -> None:
        self.signs = torch.zeros((), device=self.device)  # sum of sign(D(real)) since the last adjustment
        self.judged = 0   # D outputs summed in `signs` (this rank)
        self.images = 0   # real images (global) since the last adjustment
        self.rounds = 0   # D minibatches since the last adjustment

    def set_p(self, p: float) -> None:
        """A fixed probability from outside (a `schedule` ramp), known on the host like a configured one."""
        self.fixed = p
        self.p.fill_(p)

    def _draw(self, n: int, shape: tuple[int, int], draw: Draw) -> list[torch.Tensor]:
        return [self.shard(t) for t in draw(n, *shape, self.generator, self.device)]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's images `[n, C, H, W]` as D sees them: each transformed with probability p, by fresh
        draws for each image (the global batch's draws, sliced)."""
        if self.fixed == 0.0:
            return x
        n, shape = len(x) * self.ranks, tuple(x.shape[2:])
        out = x
        for op in self.ops:
            out = op.apply(out, *self._draw(n, shape, op.draw))
        if self.fixed == 1.0:
            return out
        (coin,) = self._draw(n, shape, _uniform(0.0, 1.0))
        return torch.where((coin < self.p).view(-1, 1, 1, 1), out, x)

    def observe(self, real_logits: torch.Tensor, images: int) -> None:
        """Adaptive p: count sign(D(real)) of this rank's `images` real images; every `interval` calls, move
        p by sign(r_t - target) times the global images since the last move over `ramp_images`, in [0, 1]."""
        if not self.adaptive:
            return
        self.signs = self.signs + real_logits.detach().float().sign().sum()
        self.judged += real_logits.numel()
        self.images += images * self.ranks
        self.rounds += 1
        if self.rounds % self.interval == 0:
            rt = self.mean_over_ranks(self.signs / self.judged)
            self.p = (self.p + torch.sign(rt - self.target) * (self.images / self.ramp_images)).clamp(0.0, 1.0)
            if self.report is not None:
                self.report("augment/rt", rt)
            self._reset()
        if self.report is not None:
            self.report("augment/p", self.p)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "p": self.p.cpu(), "signs": self.signs.cpu(),
                "judged": self.judged, "images": self.images, "rounds": self.rounds}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.p = state["p"].to(self.device)
        self.signs = state["signs"].to(self.device)
        self.judged, self.images, self.rounds = int(state["judged"]), int(state["images"]), int(state["rounds"])
