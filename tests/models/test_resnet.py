import pytest
import torch
from torch import nn

from ganforge.models.resnet import DownBlock, ResNetDiscriminator, ResNetGenerator, UpBlock


@pytest.mark.parametrize("resolution, channels", [(16, 1), (32, 3), (64, 3)])
def test_shapes_and_output_range(resolution, channels):
    G = ResNetGenerator(z_dim=16, resolution=resolution, channels=channels, width=8)
    D = ResNetDiscriminator(resolution=resolution, channels=channels, width=8)
    x = G(torch.randn(3, 16))
    assert x.shape == (3, channels, resolution, resolution) and x.abs().max() <= 1
    assert D(x).shape == (3,)
    assert D(x, full=True).features.shape == (3, 8)  # globally sum-pooled


def test_cifar_layout_of_table_4():
    G = ResNetGenerator(z_dim=128, resolution=32, channels=3, width=256)
    D = ResNetDiscriminator(resolution=32, channels=3, width=128)
    assert G.dense.out_features == 4 * 4 * 256 and len(G.blocks) == 3
    blocks = [m for m in D.body if isinstance(m, DownBlock)]
    assert [(b.down, b.first) for b in blocks] == [(True, True), (True, False), (False, False), (False, False)]
    assert D.head.in_features == 128
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())


def test_blocks_are_residual():
    """With the residual branch's last convolution zeroed, a block is its shortcut alone."""
    up = UpBlock(4, 6, "batch", 0, 0)
    down = DownBlock(4, 4, down=False, first=False)
    for block in (up, down):
        nn.init.zeros_(block.conv2.weight), nn.init.zeros_(block.conv2.bias)
    x = torch.randn(2, 4, 4, 4)
    expected_up = up.shortcut(torch.nn.functional.interpolate(x, scale_factor=2))
    assert torch.allclose(up(x, None), expected_up)
    assert torch.allclose(down(x), x)  # identity shortcut when nothing changes shape


def test_first_block_pools_before_its_shortcut_convolution():
    block = DownBlock(3, 8, down=True, first=True)
    nn.init.zeros_(block.conv2.weight), nn.init.zeros_(block.conv2.bias)
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(block(x), block.shortcut(torch.nn.functional.avg_pool2d(x, 2)), atol=1e-6)
