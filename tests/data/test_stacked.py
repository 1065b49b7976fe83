import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.data.stacked import MODES, mode_index
from ganforge.errors import DataError

from . import write_idx_dataset

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def tiny_fashion(tmp_path):
    """Four tiny IDX files standing in for Fashion-MNIST: 6 training and 4 test garments."""
    return tmp_path, write_idx_dataset(tmp_path, n_train=6, n_test=4)


def test_mode_index_is_the_class_triple_in_base_ten():
    triples = torch.tensor([[0, 0, 0], [9, 9, 9], [1, 2, 3], [0, 0, 7], [4, 0, 0]])
    assert mode_index(triples).tolist() == [0, 999, 123, 7, 400]


def test_each_channel_is_a_whole_garment_and_the_label_names_all_three(tiny_fashion):
    root, arrays = tiny_fashion
    data = build_dataset(DataConfig(name="stacked-fashion-mnist", root=str(root), num_samples=50, seed=3))
    assert data.samples.shape == (50, 3, 32, 32) and data.samples.dtype == torch.uint8
    assert data.num_classes == MODES and data.labels.dtype == torch.int64
    garments, classes = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"].astype(int)
    padded = np.pad(garments, ((0, 0), (2, 2), (2, 2)))  # 28 -> 32 with 2 black pixels a side
    for image, label in zip(data.samples.numpy(), data.labels.tolist()):
        found = [next(i for i, g in enumerate(padded) if np.array_equal(g, channel)) for channel in image]
        assert label == 100 * classes[found[0]] + 10 * classes[found[1]] + classes[found[2]]


def test_the_draw_is_seeded_and_the_splits_draw_from_their_own_garments(tiny_fashion):
    root, arrays = tiny_fashion
    config = DataConfig(name="stacked-fashion-mnist", root=str(root), num_samples=40, seed=1)
    first, again = build_dataset(config), build_dataset(config)
    other = build_dataset(dataclasses.replace(config, seed=2))
    assert torch.equal(first.samples, again.samples) and not torch.equal(first.samples, other.samples)
    test = build_dataset(dataclasses.replace(config, split="test"))
    test_garments = np.pad(arrays["t10k-images-idx3-ubyte"], ((0, 0), (2, 2), (2, 2)))
    assert all(any(np.array_equal(g, channel) for g in test_garments) for channel in test.samples[:, 0].numpy())


def test_channels_are_drawn_independently_and_uniformly(tiny_fashion):
    """With 6 garments, each channel's garment is uniform over 6 and the pairs over 36, independently."""
    root, _ = tiny_fashion
    data = build_dataset(DataConfig(name="stacked-fashion-mnist", root=str(root), num_samples=36_000))
    pool = data.samples[:, 0].reshape(len(data), -1).unique(dim=0)
    which = torch.stack([(data.samples[:, c].reshape(len(data), 1, -1) == pool).all(-1).int().argmax(1)
                         for c in range(3)], dim=1)
    for c in range(3):
        assert np.allclose(np.bincount(which[:, c], minlength=6) / len(data), 1 / 6, atol=0.01)
    pairs = np.bincount(6 * which[:, 0] + which[:, 2], minlength=36) / len(data)
    assert np.allclose(pairs, 1 / 36, atol=0.004)


def test_resolution_is_honoured_and_mixing_channels_is_refused(tiny_fashion):
    root, _ = tiny_fashion
    data = build_dataset(DataConfig(name="stacked-fashion-mnist", root=str(root), num_samples=5, resolution=16))
    assert data.samples.shape == (5, 3, 16, 16)
    with pytest.raises(DataError, match="data.channels=1 would mix them"):
        build_dataset(DataConfig(name="stacked-fashion-mnist", root=str(root), channels=1))


def test_missing_fashion_mnist_is_one_clear_line(tmp_path):
    with pytest.raises(DataError, match="fashion-mnist not found") as info:
        build_dataset(DataConfig(name="stacked-fashion-mnist", root=str(tmp_path)))
    assert "\n" not in str(info.value)


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_stacked_labels_cover_all_thousand_modes_evenly():
    data = build_dataset(DataConfig(name="stacked-fashion-mnist", num_samples=26_000, split="test"))
    counts = np.bincount(data.labels.numpy(), minlength=MODES)
    assert len(counts) == MODES and counts.min() > 0
    assert abs(counts.std() / counts.mean() - 1 / np.sqrt(26)) < 0.03  # multinomial spread: 26 per mode
