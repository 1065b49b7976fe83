"""MS-SSIM (Wang, Simoncelli & Bovik 2003) and the sample-diversity score of AC-GAN (Odena et al. 2017).

Diversity is the mean MS-SSIM over random pairs of generated images: alike pairs score near 1, so lower means
more diverse, and a mode-collapsed generator scores well above the real data's own value.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

Tensor = torch.Tensor

K1, K2 = 0.01, 0.03  # SSIM stabilisers, C1 = (K1 L)^2 and C2 = (K2 L)^2 (Wang et al. 2004)
WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # per scale, finest first (Wang et al. 2003)


def scales_for(resolution: int, window: int = 11, sigma: float = 1.5) -> tuple[int, int, float]:
    """(scales, window, sigma) for images whose smaller side is `resolution`.

    Standard MS-SSIM (5 scales, 11x11 Gaussian window, sigma 1.5) needs the window to fit at the coarsest
    scale, resolution / 2^4 >= 11, i.e. 176 px. Rule for smaller images: keep the window and use the most
    scales (at most 5) whose coarsest side, resolution // 2^(scales - 1), is still at least the window, so
    every scale is a standard SSIM; `ms_ssim` then renormalises the first `scales` weights to sum 1. Below
    the window size: one scale, the window shrunk to the largest odd size that fits and sigma scaled alike.
    32x32 and 28x28: 2 scales (32, 16), 11x11, sigma 1.5, weights (0.136, 0.864); 64: 3; 128: 4; 176+: 5;
    8x8: 1 scale, 7x7, sigma 0.95.
    """
    if resolution >= window:
        scales = 1
        while scales < len(WEIGHTS) and resolution >> scales >= window:
            scales += 1
        return scales, window, sigma
    shrunk = resolution - 1 + resolution % 2
    if shrunk < 3:
        raise ValueError(f"MS-SSIM needs images of at least 3x3, got a smaller side of {resolution}")
    return 1, shrunk, sigma * shrunk / window


def _gaussian(window: int, sigma: float) -> Tensor:
    """Normalised 1-D Gaussian [window] centred on the middle tap."""
    x = torch.arange(window, dtype=torch.float64) - (window - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return (g / g.sum()).float()


def _filter(maps: Tensor, g: Tensor) -> Tensor:
    """Separable Gaussian `g` over each channel of `maps` [N, K, H, W], valid area only: [N, K, H-w+1, W-w+1]."""
    k, w = maps.shape[1], len(g)
    maps = F.conv2d(maps, g.view(1, 1, 1, w).expand(k, 1, 1, w), groups=k)
    return F.conv2d(maps, g.view(1, 1, w, 1).expand(k, 1, w, 1), groups=k)


def _ssim_terms(x: Tensor, y: Tensor, g: Tensor) -> tuple[Tensor, Tensor]:
    """Mean SSIM and mean contrast-structure of `x`, `y` [N, C, H, W] in [0, 1], over valid area and channels:
    two [N]."""
    c1, c2 = K1 ** 2, K2 ** 2  # data range L = 1
    mx, my, xx, yy, xy = _filter(torch.cat([x, y, x * x, y * y, x * y], dim=1), g).chunk(5, dim=1)
    var_x, var_y, cov = xx - mx * mx, yy - my * my, xy - mx * my
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    luminance = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    return (luminance * cs).mean(dim=(1, 2, 3)), cs.mean(dim=(1, 2, 3))


def ms_ssim(a: Tensor, b: Tensor, scales: int | None = None, window: int = 11, sigma: float = 1.5,
            weights: tuple[float, ...] | None = None) -> Tensor:
    """MS-SSIM of each pair a[i], b[i] of images [N, C, H, W] in [-1, 1] -> [N], 1 for identical images.

    Images are mapped to [0, 1] (data range L = 1). At each scale the SSIM statistics use a `window` x `window`
    Gaussian of std `sigma` per channel, valid area only, and are averaged over that area and the channels; the
    contrast-structure term enters at every scale and luminance only at the coarsest (as the mean SSIM there);
    scales are 2x2 average pooling apart (an odd side drops its last row or column). Each term is clamped at 0
    before its weight is applied (the common relu), so anti-correlated images score 0 instead of NaN.
    `scales=None` takes scales, window and sigma from `scales_for`; `weights=None` takes the first `scales`
    standard weights, renormalised to sum 1 when fewer than 5.
    """
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"expected two image batches of one shape [N, C, H, W], got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    side = min(a.shape[-2:])
    if scales is None:
        scales, window, sigma = scales_for(side, window, sigma)
    elif side >> (scales - 1) < window:
        raise ValueError(f"a {window}x{window} window does not fit {scales} scales of {side}px images; "
                         f"scales_for({side}) gives a setting that does")
    if weights is None:
        if scales > len(WEIGHTS):
            raise ValueError(f"standard weights exist for up to {len(WEIGHTS)} scales; pass `weights` for {scales}")
        weights = WEIGHTS if scales == len(WEIGHTS) else tuple(w / sum(WEIGHTS[:scales]) for w in WEIGHTS[:scales])
    if len(weights) != scales:
        raise ValueError(f"got {len(weights)} weights for {scales} scales")
    g = _gaussian(window, sigma).to(a.device)
    x, y = (a.float() + 1) / 2, (b.float() + 1) / 2
    terms = []
    for scale in range(scales):
        if scale:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        ssim, cs = _ssim_terms(x, y, g)
        terms.append(cs)
    terms[-1] = ssim  # luminance enters at the coarsest scale only
    exponents = torch.tensor(weights, dtype=torch.float32, device=a.device)
    return (torch.stack(terms, dim=1).clamp_min(0) ** exponents).prod(dim=1)


def msssim_diversity(images: Tensor, pairs: int = 10000, seed: int = 0, batch_size: int = 256) -> float:
    """Mean MS-SSIM over `pairs` random pairs (i, j), i != j, of `images` [N, C, H, W] in [-1, 1].

    AC-GAN's and PGGAN's diversity protocol (10,000 pairs there): lower = more diverse. Pairs are drawn
    independently and uniformly from a generator seeded with `seed`; `batch_size` pairs are scored at a time.
    """
    if len(images) < 2 or pairs < 1:
        raise ValueError(f"need at least 2 images and 1 pair, got {len(images)} images and {pairs} pairs")
    generator = torch.Generator().manual_seed(seed)
    first = torch.randint(0, len(images), (pairs,), generator=generator)
    second = torch.randint(0, len(images) - 1, (pairs,), generator=generator)
    second += second >= first  # uniform over j != i
    total = 0.0
    for start in range(0, pairs, batch_size):
        i, j = first[start:start + batch_size], second[start:start + batch_size]
        total += float(ms_ssim(images[i], images[j]).double().sum())
    return total / pairs
