import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.errors import DataError


def _save(path, array: np.ndarray) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return array


def _rgb(seed: int, h: int = 8, w: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _load(root, **kwargs):
    return build_dataset(DataConfig(name="folder", root=str(root), resolution=8, **kwargs))


def test_class_folders_become_sorted_labels(tmp_path):
    expected = {
        "b_dog": [_save(tmp_path / "b_dog" / "x.PNG", _rgb(0))],
        "a_cat": [_save(tmp_path / "a_cat" / "1.png", _rgb(1)),
                  _save(tmp_path / "a_cat" / "deep" / "2.png", _rgb(2))],
    }
    (tmp_path / "a_cat" / "notes.txt").write_text("not an image")
    data = _load(tmp_path)
    assert data.samples.shape == (3, 3, 8, 8) and data.samples.dtype == torch.uint8
    assert data.labels.tolist() == [0, 0, 1] and data.num_classes == 2
    pngs = expected["a_cat"] + expected["b_dog"]
    for sample, array in zip(data.samples, pngs):
        assert np.array_equal(sample.permute(1, 2, 0).numpy(), array)  # same size: no resampling


def test_unlabelled_folder_grey_and_centre_crop(tmp_path):
    wide = _save(tmp_path / "wide.png", _rgb(3, h=8, w=12))
    Image.fromarray(_rgb(4, 16, 16)).save(tmp_path / "big.jpeg", quality=95)
    data = _load(tmp_path, channels=1)
    assert data.labels is None and data.num_classes == 0
    assert data.samples.shape == (2, 1, 8, 8)
    rgb = _load(tmp_path)
    assert np.array_equal(rgb.samples[1].permute(1, 2, 0).numpy(), wide[:, 2:10])  # sorted: big, wide
    grey = np.asarray(Image.fromarray(np.ascontiguousarray(wide[:, 2:10])).convert("L"))
    assert np.array_equal(data.samples[1, 0].numpy(), grey)


def test_resize_to_resolution(tmp_path):
    _save(tmp_path / "a.png", np.full((40, 40, 3), 200, np.uint8))
    data = build_dataset(DataConfig(name="folder", root=str(tmp_path), resolution=16))
    assert data.samples.shape == (1, 3, 16, 16) and (data.samples == 200).all()


def test_unreadable_image_is_named(tmp_path):
    _save(tmp_path / "good.png", _rgb(0))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    with pytest.raises(DataError, match="broken.jpg"):
        _load(tmp_path)


def test_empty_missing_and_mixed_folders(tmp_path):
    with pytest.raises(DataError, match="no images"):
        _load(tmp_path)
    with pytest.raises(DataError, match="no such folder"):
        _load(tmp_path / "absent")
    with pytest.raises(DataError, match="data.root"):
        build_dataset(DataConfig(name="folder"))
    _save(tmp_path / "loose.png", _rgb(0))
    _save(tmp_path / "cls" / "a.png", _rgb(1))
    with pytest.raises(DataError, match="both loose images and class sub-folders"):
        _load(tmp_path)


def test_images_smaller_than_the_resolution_are_refused_with_the_fix(tmp_path):
    _save(tmp_path / "big.png", _rgb(0, 16, 16))
    _save(tmp_path / "tiny.png", _rgb(1, 6, 9))
    _save(tmp_path / "small.png", _rgb(2, 7, 7))
    with pytest.raises(DataError, match=r"2 of 3 images are smaller than data.resolution=8 \(smallest: tiny.png, "
                                        r"6 px on its shorter side\); set data.resolution=6 or lower"):
        _load(tmp_path)
    assert build_dataset(DataConfig(name="folder", root=str(tmp_path), resolution=6)).samples.shape == (3, 3, 6, 6)


def test_mixed_modes_and_exif_orientation(tmp_path):
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8)
    Image.fromarray(grey).save(tmp_path / "a_grey.png")
    Image.fromarray(_rgb(5)).convert("P").save(tmp_path / "b_palette.png")
    Image.fromarray(np.dstack([_rgb(6), np.full((8, 8), 128, np.uint8)])).save(tmp_path / "c_alpha.png")
    rotated = Image.fromarray(grey)
    exif = rotated.getexif()
    exif[0x0112] = 6  # orientation: the camera was turned; viewers rotate 90 degrees clockwise
    rotated.save(tmp_path / "d_turned.jpg", exif=exif, quality=100)
    data = _load(tmp_path)
    assert data.samples.shape == (4, 3, 8, 8)
    assert np.array_equal(data.samples[0, 0].numpy(), grey)  # grey becomes R = G = B
    upright = np.asarray(Image.open(tmp_path / "d_turned.jpg").convert("RGB").transpose(Image.Transpose.ROTATE_270))
    assert np.array_equal(data.samples[3].permute(1, 2, 0).numpy(), upright)
