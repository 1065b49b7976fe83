import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.data.idx import read_idx
from ganforge.errors import DataError

from . import idx_bytes, write_idx, write_idx_dataset

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_read_idx_round_trip(tmp_path, name):
    array = np.random.default_rng(0).integers(0, 256, size=(3, 5, 7), dtype=np.uint8)
    out = read_idx(write_idx(tmp_path / name, array))
    assert out.dtype == np.uint8 and np.array_equal(out, array)


@pytest.mark.parametrize("data, problem", [
    (idx_bytes(np.zeros((10, 28, 28), np.uint8))[:1000],
     "truncated (expected 7840 bytes of data, found 984)"),
    (b"\x01\x02\x08\x03" + bytes(100), "not an IDX file"),
    (b"\x00\x00\x0d\x01" + bytes(8), "data type 0x0d is not supported"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated header"),
    (idx_bytes(np.zeros(4, np.uint8)) + b"x", "1 unexpected bytes"),
    (b"", "not an IDX file"),
])
def test_read_idx_rejects_bad_files(tmp_path, data, problem):
    path = tmp_path / "bad-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(data))
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message


def test_read_idx_rejects_corrupt_gzip(tmp_path):
    whole = gzip.compress(idx_bytes(np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8)))
    cut, garbled = whole[:len(whole) // 2], whole[:10] + b"\xff" * 50 + whole[60:]
    for name, data in (("cut.gz", cut), ("garbled.gz", garbled)):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError, match=f"{name}: corrupt gzip data"):
            read_idx(tmp_path / name)


@pytest.mark.parametrize("gz", [True, False])
def test_loader_pads_28_to_32_exactly(tmp_path, gz):
    arrays = write_idx_dataset(tmp_path, gz=gz)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        data = build_dataset(DataConfig(name="fashion-mnist", root=str(tmp_path), split=split))
        images, labels = arrays[f"{prefix}-images-idx3-ubyte"], arrays[f"{prefix}-labels-idx1-ubyte"]
        assert data.samples.shape == (len(images), 1, 32, 32) and data.samples.dtype == torch.uint8
        assert np.array_equal(data.samples[:, 0, 2:30, 2:30].numpy(), images)
        assert data.samples.sum() == int(images.sum(dtype=np.int64))  # the border is all zeros
        assert data.labels.dtype == torch.int64 and np.array_equal(data.labels.numpy(), labels)
        assert data.num_classes == 10 and data.is_image


def test_loader_resizes_and_repeats_channels(tmp_path):
    arrays = write_idx_dataset(tmp_path)
    data = build_dataset(DataConfig(name="mnist", root=str(tmp_path), resolution=16, channels=3))
    assert data.samples.shape == (6, 3, 16, 16)
    assert torch.equal(data.samples[:, 0], data.samples[:, 2])
    small = build_dataset(DataConfig(name="mnist", root=str(tmp_path), resolution=4))
    blocks = arrays["train-images-idx3-ubyte"].reshape(6, 4, 7, 4, 7).mean(axis=(2, 4))
    assert np.abs(small.samples[:, 0].numpy().astype(float) - blocks).max() <= 0.5 + 1e-4


def test_label_count_mismatch(tmp_path):
    write_idx_dataset(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="5 labels for 6 images"):
        build_dataset(DataConfig(name="fashion-mnist", root=str(tmp_path)))


def test_missing_files_say_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(DataError) as info:
        build_dataset(DataConfig(name="fashion-mnist", root=str(tmp_path)))
    assert "dataset-fashion-mnist" in str(info.value) and "ganforge download fashion-mnist" in str(info.value)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr("ganforge.data.idx._SYSTEM_ROOTS", {"mnist": str(tmp_path / "none")})
    with pytest.raises(DataError, match=r"mnist not found in .*none or .*\.cache/ganforge/mnist"):
        build_dataset(DataConfig(name="mnist"))


def test_default_root_falls_back_to_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr("ganforge.data.idx._SYSTEM_ROOTS", {"mnist": str(tmp_path / "none")})
    write_idx_dataset(tmp_path / ".cache" / "ganforge" / "mnist")
    assert len(build_dataset(DataConfig(name="mnist"))) == 6


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist():
    for split, n in (("train", 60_000), ("test", 10_000)):
        data = build_dataset(DataConfig(name="fashion-mnist", split=split))
        assert data.samples.shape == (n, 1, 32, 32) and data.samples.dtype == torch.uint8
        assert data.num_classes == 10 and torch.equal(data.labels.unique(), torch.arange(10))
        assert data.samples[:, :, :2].count_nonzero() == 0 and data.samples[:, :, :, -2:].count_nonzero() == 0
