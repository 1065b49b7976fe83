"""Shared fixtures: tiny datasets and configs that train in a fraction of a second."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def tiny_images(tmp_path):
    """An .npz of 256 random 8x8 grayscale images with 4 labels."""
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(path, x=rng.integers(0, 256, size=(256, 8, 8), dtype=np.uint8), y=rng.integers(0, 4, size=256))
    return path



def pytest_collection_modifyitems(config, items):
    """Tests marked `cuda` need a GPU: skipped with a reason where torch sees none."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (run `pytest -m cuda` on a GPU machine)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
