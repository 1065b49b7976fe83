"""SWD against a plain NumPy/SciPy restatement of the PGGAN protocol, fed the same random draws."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from ganforge.metrics import swd

KERNEL = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])[None, None] / 256.0  # [1, 1, 5, 5]


def random_images(n: int, channels: int, side: int, seed: int) -> torch.Tensor:
    return torch.rand(n, channels, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def rectangles(n: int, side: int, seed: int) -> torch.Tensor:
    """Grey images [n, 1, side, side] of three flat rectangles on a black background: sparse, non-Gaussian
    Laplacian patches, far from noise at every level."""
    g = torch.Generator().manual_seed(seed)
    images = -torch.ones(n, 1, side, side)
    corners = torch.randint(0, side - 4, (n, 3, 2), generator=g)
    sizes = torch.randint(4, side // 2, (n, 3, 2), generator=g)
    values = torch.rand(n, 3, generator=g) * 2 - 1
    for i in range(n):
        for (r, c), (h, w), v in zip(corners[i].tolist(), sizes[i].tolist(), values[i].tolist()):
            images[i, :, r:r + h, c:c + w] = v
    return images


def np_pyramid(x: np.ndarray, levels: int) -> list[np.ndarray]:
    gaussian = [x]
    for _ in range(levels - 1):
        gaussian.append(ndimage.convolve(gaussian[-1], KERNEL, mode="mirror")[:, :, ::2, ::2])
    laplacian = []
    for fine, coarse in zip(gaussian, gaussian[1:]):
        spread = np.zeros_like(fine)
        spread[:, :, ::2, ::2] = coarse
        laplacian.append(fine - ndimage.convolve(spread, 4 * KERNEL, mode="mirror"))
    return laplacian + [gaussian[-1]]


def np_patches(level: np.ndarray, corners: np.ndarray, patch: int) -> np.ndarray:
    return np.array([level[i, :, r:r + patch, c:c + patch].ravel()
                     for i in range(len(level)) for r, c in corners[i]])


def np_normalise(d: np.ndarray, channels: int) -> np.ndarray:
    grouped = d.reshape(len(d), channels, -1)
    return ((grouped - grouped.mean(axis=(0, 2), keepdims=True)) / grouped.std(axis=(0, 2), keepdims=True)
            ).reshape(d.shape)


def np_sliced(a: np.ndarray, b: np.ndarray, direction_sets: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(np.sort(a @ v, axis=0) - np.sort(b @ v, axis=0)).mean() for v in direction_sets]))


def test_pyramid_matches_scipy_mirror_convolution():
    images = random_images(3, 2, 64, seed=0)
    levels = swd.laplacian_pyramid(images)
    expected = np_pyramid(images.double().numpy(), 3)
    assert [tuple(level.shape[-2:]) for level in levels] == [(64, 64), (32, 32), (16, 16)]
    for level, ref in zip(levels, expected):
        np.testing.assert_allclose(level.numpy(), ref, atol=1e-6)


def test_pyramid_reconstructs_images():
    images = random_images(4, 3, 64, seed=1)
    levels = swd.laplacian_pyramid(images)
    rebuilt = levels[-1]
    for level in reversed(levels[:-1]):
        rebuilt = level + swd.upsample(rebuilt)
    torch.testing.assert_close(rebuilt, images, atol=1e-6, rtol=0)


@pytest.mark.parametrize("shape", [(2, 1, 8, 8), (2, 1, 24, 24), (2, 1, 32, 16), (1, 32, 32)])
def test_pyramid_rejects_bad_shapes(shape):
    with pytest.raises(ValueError):
        swd.laplacian_pyramid(torch.zeros(shape))


def test_corners_keep_patch_inside_and_reach_both_ends():
    corners = swd.draw_corners(64, 16, 128, 7, torch.Generator().manual_seed(0))
    assert corners.shape == (64, 128, 2)
    assert corners.min() == 0 and corners.max() == 16 - 7


def test_patches_match_numpy_slicing():
    level = torch.randn(5, 3, 16, 16)
    corners = swd.draw_corners(5, 16, 9, 7, torch.Generator().manual_seed(2))
    got = swd.patches_at(level, corners, 7)
    assert got.shape == (45, 3 * 49)
    np.testing.assert_array_equal(got.numpy(), np_patches(level.numpy(), corners.numpy(), 7))


def test_normalisation_matches_numpy():
    d = torch.randn(300, 3 * 49) * torch.tensor([1.0, 5.0, 0.2]).repeat_interleave(49) + 3
    np.testing.assert_allclose(swd.normalise_descriptors(d, 3).numpy(), np_normalise(d.double().numpy(), 3),
                               atol=1e-5)


def test_sliced_distance_matches_numpy_sort_on_same_directions():
    a, b = torch.randn(500, 49), torch.randn(500, 49) * 1.5 + 0.3
    got = swd.sliced_wasserstein_1d(a, b, 64, 3, torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    direction_sets = [swd.draw_directions(49, 64, g).double().numpy() for _ in range(3)]
    assert got == pytest.approx(np_sliced(a.double().numpy(), b.double().numpy(), direction_sets), rel=1e-5)


def test_directions_are_unit_vectors():
    v = swd.draw_directions(147, 128, torch.Generator().manual_seed(0))
    torch.testing.assert_close(v.norm(dim=0), torch.ones(128))


def test_whole_protocol_matches_numpy_with_the_same_draws():
    real, fake = random_images(12, 3, 32, seed=4), random_images(10, 3, 32, seed=5)
    per_image, patch, directions, repeats = 16, 7, 32, 2
    got = swd.sliced_wasserstein(real, fake, per_image, patch, directions, repeats, seed=7, batch_size=5)

    g = torch.Generator().manual_seed(7)  # the documented draw order
    real = real[torch.randperm(12, generator=g)[:10]]
    real_levels, fake_levels = np_pyramid(real.double().numpy(), 2), np_pyramid(fake.double().numpy(), 2)
    expected = {}
    for side, real_level, fake_level in zip((32, 16), real_levels, fake_levels):
        sets = [np_normalise(np_patches(level, swd.draw_corners(10, side, per_image, patch, g).numpy(), patch), 3)
                for level in (real_level, fake_level)]
        direction_sets = [swd.draw_directions(3 * 49, directions, g).double().numpy() for _ in range(repeats)]
        expected[f"swd_{side}"] = 1e3 * np_sliced(*sets, direction_sets)
    expected["swd"] = (expected["swd_32"] + expected["swd_16"]) / 2
    assert got == pytest.approx(expected, rel=1e-4)


def test_keys_and_batch_size_independence():
    real, fake = random_images(20, 1, 32, seed=6), random_images(20, 1, 32, seed=7)
    small = swd.sliced_wasserstein(real, fake, 32, directions=32, seed=1, batch_size=7)
    large = swd.sliced_wasserstein(real, fake, 32, directions=32, seed=1, batch_size=256)
    assert list(small) == ["swd_32", "swd_16", "swd"]
    assert small == large


def test_ordering_identical_below_blurred_below_noise():
    real = rectangles(64, 32, seed=8)
    blurred = swd.upsample(swd.downsample(real))
    noise = random_images(64, 1, 32, seed=9)
    score = {name: swd.sliced_wasserstein(real, other, 64, directions=64)["swd"]
             for name, other in [("same", real), ("blurred", blurred), ("noise", noise)]}
    assert score["same"] < score["blurred"] < score["noise"]
    assert score["same"] < 0.2 * score["noise"]
