import math

import numpy as np
import pytest
import torch

from ganforge.models.equalized import EqualConv2d, EqualLinear, MinibatchStdDev, PixelNorm


def test_equalised_layers_give_unit_variance_outputs_at_init():
    torch.manual_seed(0)
    x = torch.randn(4096, 256)
    for layer in (EqualLinear(256, 64, gain=1.0), EqualLinear(256, 64, gain=math.sqrt(2))):
        out = layer(x)
        # the He constant keeps the output variance at gain^2 times the input's, whatever the fan-in
        assert out.var().item() == pytest.approx(layer.scale ** 2 * 256, rel=0.05)
    assert EqualLinear(256, 64, gain=1.0)(x).var().item() == pytest.approx(1.0, rel=0.05)
    conv = EqualConv2d(32, 16, 3, gain=1.0)
    out = conv(torch.randn(64, 32, 8, 8))[:, :, 1:-1, 1:-1]  # away from the zero padding
    assert out.var().item() == pytest.approx(1.0, rel=0.05)
    assert conv.weight.std().item() == pytest.approx(1.0, rel=0.05)  # the parameter itself is N(0, 1)


def test_equalised_conv_equals_a_plain_conv_with_the_scaled_weight():
    conv = EqualConv2d(3, 5, 3)
    x = torch.randn(2, 3, 6, 6)
    plain = torch.nn.Conv2d(3, 5, 3, padding=1)
    with torch.no_grad():
        plain.weight.copy_(conv.weight * math.sqrt(2) / math.sqrt(27))
        plain.bias.copy_(conv.bias)
    assert torch.allclose(conv(x), plain(x), atol=1e-6)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.randn(3, 8, 4, 4) * 7 + 2
    out = PixelNorm()(x)
    assert torch.allclose(out.pow(2).mean(dim=1), torch.ones(3, 4, 4), atol=1e-5)
    assert torch.allclose(out / x, (out / x)[:, :1].expand_as(x), atol=1e-5)  # one factor per pixel


def test_minibatch_stddev_adds_one_map_with_the_group_statistic():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 2, 2)
    out = MinibatchStdDev(group_size=4)(x)
    assert out.shape == (8, 4, 2, 2) and torch.equal(out[:, :3], x)
    a = x.numpy()
    for i in range(8):
        members = [j for j in range(8) if j % 2 == i % 2]  # groups of 4 of a batch of 8: i, i+2, i+4, i+6
        expected = np.sqrt(a[members].var(axis=0) + 1e-8).mean()
        assert np.allclose(out[i, 3].numpy(), expected, atol=1e-6)


def test_minibatch_stddev_groups_an_odd_batch_by_the_largest_divisor():
    x = torch.randn(6, 2, 2, 2)
    out = MinibatchStdDev(4)(x)  # 6 = 2 groups of 3
    expected = np.sqrt(x.numpy()[[0, 2, 4]].var(axis=0) + 1e-8).mean()
    assert np.allclose(out[0, 2].numpy(), expected, atol=1e-6)
