import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data.transform import fit_images


def _images(*shape: int) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).integers(1, 256, size=shape, dtype=np.uint8))


def test_pad_28_to_32_keeps_centre_and_zero_border():
    images = _images(3, 1, 28, 28)
    out = fit_images(images, 32, None)
    assert out.shape == (3, 1, 32, 32) and out.dtype == torch.uint8
    assert torch.equal(out[:, :, 2:30, 2:30], images)
    border = out.clone()
    border[:, :, 2:30, 2:30] = 0
    assert border.count_nonzero() == 0


def test_odd_padding_puts_the_extra_pixel_after():
    out = fit_images(_images(1, 1, 5, 5), 8, None)
    assert out[0, 0, 1:6, 1:6].count_nonzero() == 25
    assert out.count_nonzero() == 25


def test_area_resize_is_block_mean():
    images = _images(2, 1, 28, 28)
    out = fit_images(images, 14, None)
    expected = np.rint(images.numpy().reshape(2, 1, 14, 2, 14, 2).astype(np.float64).mean(axis=(3, 5)))
    assert np.abs(out.numpy().astype(int) - expected).max() <= 1  # float32 vs float64 at .5 ties
    assert torch.equal(fit_images(torch.full((1, 1, 28, 28), 77, dtype=torch.uint8), 4, None),
                       torch.full((1, 1, 4, 4), 77, dtype=torch.uint8))


def test_non_square_is_centre_cropped():
    images = _images(1, 3, 8, 12)
    assert torch.equal(fit_images(images, 8, None), images[..., 2:10])


def test_channels():
    grey = _images(2, 1, 8, 8)
    rgb = fit_images(grey, 8, 3)
    assert rgb.shape == (2, 3, 8, 8) and all(torch.equal(rgb[:, c:c + 1], grey) for c in range(3))
    colour = _images(1, 3, 8, 8)
    luma = fit_images(colour, 8, 1)
    pil = np.asarray(Image.fromarray(colour[0].permute(1, 2, 0).numpy(), "RGB").convert("L"))
    assert luma.shape == (1, 1, 8, 8) and np.abs(luma[0, 0].numpy().astype(int) - pil).max() <= 1


def test_rejects_non_uint8():
    with pytest.raises(ValueError):
        fit_images(torch.zeros(1, 1, 4, 4), 4, None)
