import builtins
import importlib.util

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.data.elpv import split_indices, write_elpv_npz
from ganforge.errors import DataError

HAS_ELPV = importlib.util.find_spec("elpv_dataset") is not None
needs_elpv = pytest.mark.skipif(not HAS_ELPV, reason="the optional elpv-dataset package is not installed "
                                "(pip install ganforge[elpv])")


def test_the_held_out_tenth_is_fixed_and_disjoint_from_train():
    train, test = split_indices(2624, "train"), split_indices(2624, "test")
    assert len(test) == 262 and len(train) == 2362
    assert np.array_equal(np.union1d(train, test), np.arange(2624)) and not np.intersect1d(train, test).size
    assert np.array_equal(test, split_indices(2624, "test"))
    with pytest.raises(DataError, match="unknown split 'valid'"):
        split_indices(2624, "valid")


def test_a_missing_package_is_one_line_saying_how_to_install_it(monkeypatch):
    real_import = builtins.__import__

    def no_elpv(name, *args, **kwargs):
        if name.startswith("elpv_dataset"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_elpv)
    with pytest.raises(DataError) as info:
        build_dataset(DataConfig(name="elpv", resolution=64))
    assert "pip install ganforge[elpv]" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("change, problem", [({"root": "/tmp/x"}, "data.root does not apply"),
                                             ({"resolution": 512}, "above the images' 300x300")])
def test_options_elpv_cannot_honour_are_refused(change, problem):
    with pytest.raises(DataError, match=problem):
        build_dataset(DataConfig(name="elpv", **change))


@pytest.fixture(scope="module")
def elpv_test():
    """The held-out split at 64x64 and at full size. The package is read once (decoding its 2,624 PNGs takes
    seconds) and every load in this module re-uses that read."""
    from ganforge.data import elpv

    images = elpv._read_package()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(elpv, "_read_package", lambda: images)
        yield {side: build_dataset(DataConfig(name="elpv", resolution=side, split="test")) for side in (64, 300)}


@needs_elpv
def test_elpv_images_are_uint8_at_the_resolution_asked_with_module_type_labels(elpv_test):
    small, full = elpv_test[64], elpv_test[300]
    assert small.samples.shape == (262, 1, 64, 64) and full.samples.shape == (262, 1, 300, 300)
    assert small.samples.dtype == torch.uint8 and small.is_image
    assert small.num_classes == 2 and set(small.labels.unique().tolist()) == {0, 1}
    assert torch.equal(small.labels, full.labels)
    assert full.samples.float().std() > 20  # real pictures, not a blank array


@needs_elpv
def test_area_resize_keeps_each_image_mean(elpv_test):
    small = elpv_test[64].samples.float().mean(dim=(1, 2, 3))
    assert torch.allclose(small, elpv_test[300].samples.float().mean(dim=(1, 2, 3)), atol=1.0)


@needs_elpv
def test_the_npz_copy_reads_back_as_the_same_dataset(tmp_path, elpv_test):
    path = write_elpv_npz(tmp_path / "elpv64.npz", resolution=64, split="test")
    copy = build_dataset(DataConfig(name="npz", root=str(path), resolution=64))
    assert torch.equal(copy.samples, elpv_test[64].samples) and torch.equal(copy.labels, elpv_test[64].labels)
