"""dcgan-latent: the quick protocol end to end, its pictured analogy against G applied directly, and the
pieces (exemplar choice, noisy neighbours) against their definitions."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.generate import generate, load_generator
from ganforge.repro import QUICK, load_result
from ganforge.repro import dcgan_latent as latent

from .conftest import assert_pngs, quick_fashion_run


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    return quick_fashion_run(tmp_path_factory, "dcgan-latent")


def test_quick_run_writes_results_and_figures(quick_run):
    result = load_result(quick_run)
    assert result.name == "dcgan-latent" and result.quick and result.verdict == QUICK
    assert result.figures == ["latent_arithmetic.png", "latent_walks.png"]
    assert_pngs(quick_run, result.figures)
    shares = json.loads((quick_run / "results.json").read_text())["extra"]["shares"]
    assert set(shares) == {"arithmetic", "random z", "B' alone"}
    assert all(0.0 <= s["mean"] <= 1.0 and s["se"] >= 0.0 for s in shares.values())
    assert result.rows[4].ours == latent.QUICK.pairs


def test_pictured_result_is_g_of_the_mean_latent_arithmetic(quick_run):
    result = load_result(quick_run)
    G = load_generator(result.extra["checkpoint"])
    saved = np.load(quick_run / "arithmetic_examples.npz")
    z_a, z_b, z_c = (torch.from_numpy(saved[k]) for k in ("z_a", "z_b", "z_c"))
    assert z_a.shape[1:] == (3, G.z_dim)
    direct = generate(G, z_a.mean(1) - z_b.mean(1) + z_c.mean(1))
    np.testing.assert_allclose(saved["results"], direct.numpy(), atol=1e-5)
    # and the figure shows it: the result is column 12 (after three groups of 3 exemplars + their mean)
    grid = np.asarray(Image.open(quick_run / "latent_arithmetic.png"))[::2, ::2]  # undo the 2x upscaling
    size, pad, column = direct.shape[-1], 2, 12
    for row, image in enumerate(direct):
        top, left = pad + row * (size + pad), pad + column * (size + pad)
        expected = ((image[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
        np.testing.assert_array_equal(grid[top:top + size, left:left + size], expected)


def test_exemplar_pools_keep_confident_samples_most_probable_first():
    probs = torch.full((10, 10), 0.01)
    probs[:7, 4] = torch.tensor([0.96, 0.99, 0.97, 0.5, 0.98, 0.955, 0.951])  # six of class 4 clear 0.95
    probs[7:, 2] = 0.99                                                         # three of class 2: too few
    pools = latent.exemplar_pools(probs, 0.95)
    assert list(pools) == [4]
    assert pools[4].tolist() == [1, 4, 2, 0, 5, 6]


def test_neighbours_stay_within_the_papers_noise():
    z = torch.randn(4, 100)
    out = latent.with_neighbours(z, 8, torch.Generator().manual_seed(0))
    assert out.shape == (4, 9, 100)
    assert torch.equal(out[:, 0], z)
    noise = out[:, 1:] - z[:, None]
    assert noise.abs().max() <= latent.NOISE + 1e-6 and noise.abs().max() > 0.2
    torch.testing.assert_close(latent.analogy(z[None, :3], z[None, 1:4], z[None, :3])[0],
                               2 * z[:3].mean(0) - z[1:4].mean(0))
