"""MS-SSIM against a plain NumPy restatement of Wang et al.'s definition with the same windows and weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view

from ganforge.metrics.msssim import WEIGHTS, ms_ssim, msssim_diversity, scales_for


def smooth_images(n: int, channels: int, side: int, seed: int) -> torch.Tensor:
    """Images [n, channels, side, side] in [-1, 1] with structure at several scales."""
    g = torch.Generator().manual_seed(seed)
    x = sum(F.interpolate(torch.randn(n, channels, s, s, generator=g), size=side, mode="bilinear") / s ** 0.5
            for s in (4, 8, 16, 32))
    return (x / x.abs().amax(dim=(1, 2, 3), keepdim=True)).clamp(-1, 1)


def np_ssim_terms(x: np.ndarray, y: np.ndarray, window: int, sigma: float) -> tuple[float, float]:
    """Mean SSIM and mean contrast-structure of one image pair [C, H, W] in [0, 1], valid windows only."""
    offsets = np.arange(window) - (window - 1) / 2
    g = np.exp(-offsets ** 2 / (2 * sigma ** 2))
    kernel = np.outer(g, g) / g.sum() ** 2

    def local_mean(z: np.ndarray) -> np.ndarray:
        return (sliding_window_view(z, (window, window), axis=(1, 2)) * kernel).sum(axis=(-2, -1))

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = local_mean(x), local_mean(y)
    vx, vy, cov = local_mean(x * x) - mx ** 2, local_mean(y * y) - my ** 2, local_mean(x * y) - mx * my
    cs = (2 * cov + c2) / (vx + vy + c2)
    return float(((2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1) * cs).mean()), float(cs.mean())


def np_ms_ssim(a: np.ndarray, b: np.ndarray, weights: list[float], window: int = 11, sigma: float = 1.5) -> float:
    """MS-SSIM of one pair [C, H, W] in [-1, 1]: prod cs_j^w_j over the finer scales x ssim^w at the coarsest."""
    x, y = (a + 1) / 2, (b + 1) / 2
    value = 1.0
    for scale, weight in enumerate(weights):
        ssim, cs = np_ssim_terms(x, y, window, sigma)
        value *= max(ssim if scale == len(weights) - 1 else cs, 0.0) ** weight
        c, h, w = x.shape
        x = x[:, :h // 2 * 2, :w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
        y = y[:, :h // 2 * 2, :w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    return value


def noisy_pairs(n: int, channels: int, side: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    a = smooth_images(n, channels, side, seed)
    g = torch.Generator().manual_seed(seed + 1)
    return a, (a + 0.2 * torch.randn(a.shape, generator=g)).clamp(-1, 1)


def test_identical_images_score_one():
    a = smooth_images(4, 3, 32, seed=0)
    torch.testing.assert_close(ms_ssim(a, a), torch.ones(4), atol=1e-6, rtol=0)


def test_single_scale_matches_numpy_ssim():
    a, b = noisy_pairs(3, 3, 32, seed=1)
    got = ms_ssim(a, b, scales=1)
    expected = [np_ssim_terms((x + 1) / 2, (y + 1) / 2, 11, 1.5)[0] for x, y in zip(a.double().numpy(),
                                                                                      b.double().numpy())]
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)


def test_five_scales_match_numpy_at_176px():
    a, b = noisy_pairs(2, 1, 176, seed=2)
    assert scales_for(176) == (5, 11, 1.5)
    expected = [np_ms_ssim(x, y, list(WEIGHTS)) for x, y in zip(a.double().numpy(), b.double().numpy())]
    np.testing.assert_allclose(ms_ssim(a, b).numpy(), expected, atol=1e-5)


def test_small_images_drop_coarse_scales_and_match_numpy():
    a, b = noisy_pairs(3, 3, 64, seed=3)
    weights = [w / sum(WEIGHTS[:3]) for w in WEIGHTS[:3]]  # 64 -> 32 -> 16: the 11x11 window fits 3 scales
    expected = [np_ms_ssim(x, y, weights) for x, y in zip(a.double().numpy(), b.double().numpy())]
    np.testing.assert_allclose(ms_ssim(a, b).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("side, expected", [(256, (5, 11, 1.5)), (128, (4, 11, 1.5)), (64, (3, 11, 1.5)),
                                            (32, (2, 11, 1.5)), (28, (2, 11, 1.5)), (16, (1, 11, 1.5)),
                                            (8, (1, 7, 1.5 * 7 / 11))])
def test_scales_for(side, expected):
    assert scales_for(side) == pytest.approx(expected)


def test_a_window_that_does_not_fit_is_refused():
    a = smooth_images(2, 1, 32, seed=4)
    with pytest.raises(ValueError, match="scales_for"):
        ms_ssim(a, a, scales=3)


def test_symmetric():
    a, b = noisy_pairs(4, 3, 32, seed=5)
    torch.testing.assert_close(ms_ssim(a, b), ms_ssim(b, a), atol=1e-6, rtol=0)


def test_decreases_as_noise_grows():
    a = smooth_images(8, 1, 32, seed=6)
    noise = torch.randn(a.shape, generator=torch.Generator().manual_seed(7))
    scores = [float(ms_ssim(a, (a + s * noise).clamp(-1, 1)).mean()) for s in (0.0, 0.05, 0.1, 0.2, 0.4, 0.8)]
    assert scores[0] == pytest.approx(1.0, abs=1e-6)
    assert all(x > y for x, y in zip(scores, scores[1:]))


def test_diversity_orders_copies_near_copies_and_noise():
    image = smooth_images(1, 3, 32, seed=8)
    g = torch.Generator().manual_seed(9)
    near_copies = (image + 0.1 * torch.randn(50, 3, 32, 32, generator=g)).clamp(-1, 1)
    noise = torch.rand(50, 3, 32, 32, generator=g) * 2 - 1
    assert msssim_diversity(image.expand(10, -1, -1, -1), pairs=20) == pytest.approx(1.0, abs=1e-6)
    assert msssim_diversity(near_copies, pairs=100) > 0.8
    assert msssim_diversity(noise, pairs=100) < 0.05


def test_diversity_independent_of_batch_size():
    images = smooth_images(30, 1, 32, seed=11)
    small = msssim_diversity(images, pairs=50, seed=3, batch_size=7)
    assert small == pytest.approx(msssim_diversity(images, pairs=50, seed=3, batch_size=256), abs=1e-6)


def test_diversity_needs_two_images():
    with pytest.raises(ValueError):
        msssim_diversity(torch.zeros(1, 1, 32, 32))
