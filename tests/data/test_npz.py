import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.errors import DataError

RNG = np.random.default_rng(0)
GREY = RNG.integers(0, 256, size=(5, 8, 8), dtype=np.uint8)
COLOUR = RNG.integers(0, 256, size=(5, 3, 8, 8), dtype=np.uint8)
LABELS = np.array([0, 2, 1, 2, 0])


def _load(path, **kwargs):
    return build_dataset(DataConfig(name="npz", root=str(path), resolution=8, **kwargs))


@pytest.mark.parametrize("stored, expected", [
    (GREY, GREY[:, None]),
    (GREY[..., None], GREY[:, None]),
    (COLOUR, COLOUR),
    (COLOUR.transpose(0, 2, 3, 1), COLOUR),
])
def test_layouts_round_trip(tmp_path, stored, expected):
    np.savez(tmp_path / "d.npz", images=stored, labels=LABELS)
    data = _load(tmp_path / "d.npz")
    assert data.samples.dtype == torch.uint8 and np.array_equal(data.samples.numpy(), expected)
    assert data.labels.dtype == torch.int64 and data.labels.tolist() == LABELS.tolist()
    assert data.num_classes == 3


def test_unlabelled_padding_and_float(tmp_path):
    np.savez_compressed(tmp_path / "d.npz", x=GREY[:, :6, :6].astype(np.float32) / 255)
    data = _load(tmp_path / "d.npz", channels=3)
    assert data.labels is None and data.num_classes == 0
    assert data.samples.shape == (5, 3, 8, 8)
    assert np.array_equal(data.samples[:, 0, 1:7, 1:7].numpy(), GREY[:, :6, :6])
    assert data.samples[:, :, 0].count_nonzero() == 0 and data.samples[:, :, :, 7].count_nonzero() == 0


class _Evil:
    """Unpickling this would create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def test_pickled_object_array_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    np.savez(tmp_path / "evil.npz", x=np.array([_Evil(marker)], dtype=object))
    with pytest.raises(DataError, match="evil.npz"):
        _load(tmp_path / "evil.npz")
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"x": _Evil(marker)}))
    with pytest.raises(DataError, match="evil.pkl: not an .npz file"):
        _load(tmp_path / "evil.pkl")
    assert not marker.exists()


@pytest.mark.parametrize("arrays, problem", [
    ({"x": GREY.astype(np.int16)}, "must be uint8"),
    ({"x": GREY.astype(np.float32)}, r"in \[0, 1\]"),
    ({"x": RNG.integers(0, 256, size=(2, 8, 8, 5), dtype=np.uint8)}, "found shape"),
    ({"x": GREY[0]}, "found shape"),
    ({"pixels": GREY}, "no images"),
    ({"x": GREY, "y": LABELS[:3]}, "labels must be"),
    ({"x": GREY, "y": LABELS.astype(np.float32)}, "labels must be"),
    ({"x": GREY, "y": -LABELS}, "negative label"),
])
def test_bad_contents(tmp_path, arrays, problem):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=problem):
        _load(tmp_path / "d.npz")


def test_not_an_npz(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(DataError, match="junk.npz"):
        _load(tmp_path / "junk.npz")
    np.save(tmp_path / "single.npy", GREY)
    with pytest.raises(DataError, match="single .npy array"):
        _load(tmp_path / "single.npy")
    with pytest.raises(DataError, match="no such file"):
        _load(tmp_path / "absent.npz")
