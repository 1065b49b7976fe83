import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.errors import DataError


def _write_batches(root, per_file: int = 2, seed: int = 0) -> dict:
    """CIFAR-10 binary files: each record a label byte, then the R, G and B planes, row-major."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        images = rng.integers(0, 256, size=(per_file, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=per_file, dtype=np.uint8)
        (root / name).write_bytes(b"".join(bytes([l]) + im.tobytes() for l, im in zip(labels, images)))
        written[name] = images, labels
    return written


def test_round_trip_train_and_test(tmp_path):
    written = _write_batches(tmp_path)
    train = build_dataset(DataConfig(name="cifar10", root=str(tmp_path)))
    images = np.concatenate([written[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    labels = np.concatenate([written[f"data_batch_{i}.bin"][1] for i in range(1, 6)])
    assert train.samples.shape == (10, 3, 32, 32) and train.samples.dtype == torch.uint8
    assert np.array_equal(train.samples.numpy(), images)
    assert train.labels.dtype == torch.int64 and np.array_equal(train.labels.numpy(), labels)
    assert train.num_classes == 10
    test = build_dataset(DataConfig(name="cifar10", root=str(tmp_path), split="test"))
    assert np.array_equal(test.samples.numpy(), written["test_batch.bin"][0])


def test_resolution_and_grey(tmp_path):
    _write_batches(tmp_path)
    data = build_dataset(DataConfig(name="cifar10", root=str(tmp_path), resolution=16, channels=1))
    assert data.samples.shape == (10, 1, 16, 16)
    data = build_dataset(DataConfig(name="cifar10", root=str(tmp_path), resolution=64))
    assert data.samples.shape == (10, 3, 64, 64) and data.samples[:, :, :16].count_nonzero() == 0


def test_wrong_size_and_bad_label(tmp_path):
    _write_batches(tmp_path)
    path = tmp_path / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DataError, match="data_batch_3.bin: 6145 bytes is not a whole number of 3073-byte"):
        build_dataset(DataConfig(name="cifar10", root=str(tmp_path)))
    (tmp_path / "test_batch.bin").write_bytes(bytes([42]) + bytes(3072))
    with pytest.raises(DataError, match="label 42"):
        build_dataset(DataConfig(name="cifar10", root=str(tmp_path), split="test"))


def test_missing_files(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="data_batch_1.bin.*not found"):
        build_dataset(DataConfig(name="cifar10", root=str(tmp_path)))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(DataError, match=r"\.cache/ganforge/cifar-10-batches-bin.*cifar-10-binary.tar.gz"):
        build_dataset(DataConfig(name="cifar10", split="test"))
    _write_batches(tmp_path / ".cache" / "ganforge" / "cifar-10-batches-bin")
    assert len(build_dataset(DataConfig(name="cifar10", split="test"))) == 2
