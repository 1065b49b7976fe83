import pytest
import torch
from torch import nn

from ganforge.models.sngan import SNGANDiscriminator, SNGANGenerator


@pytest.mark.parametrize("resolution, channels", [(8, 1), (32, 3), (64, 1)])
def test_shapes_and_output_range(resolution, channels):
    G = SNGANGenerator(z_dim=16, resolution=resolution, channels=channels, width=4)
    D = SNGANDiscriminator(resolution=resolution, channels=channels, width=4)
    x = G(torch.randn(3, 16))
    assert x.shape == (3, channels, resolution, resolution) and x.abs().max() <= 1
    assert D(x).shape == (3,)


def test_standard_cnn_of_table_3_at_32x32():
    G = SNGANGenerator(z_dim=128, resolution=32, channels=3, width=64)
    D = SNGANDiscriminator(resolution=32, channels=3, width=64)
    assert (G.dense.in_features, G.dense.out_features) == (128, 4 * 4 * 512)
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in G.convs] == [
        (512, 256, (4, 4), (2, 2)), (256, 128, (4, 4), (2, 2)), (128, 64, (4, 4), (2, 2))]
    assert (G.to_image.kernel_size, G.to_image.stride, G.to_image.out_channels) == ((3, 3), (1, 1), 3)
    convs = [m for m in D.body if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (64, 3, 1), (64, 4, 2), (128, 3, 1), (128, 4, 2), (256, 3, 1), (256, 4, 2), (512, 3, 1)]
    slopes = {m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.1}
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)) for m in D.modules())
    assert D.head.in_features == 512 * 4 * 4 and D.head.out_features == 1


def test_conditional_generator_and_projection_discriminator():
    G = SNGANGenerator(z_dim=8, resolution=8, channels=1, width=4, num_classes=3, label="cbn")
    D = SNGANDiscriminator(resolution=8, channels=1, width=4, num_classes=3, label="projection")
    y = torch.tensor([0, 1, 2, 1])
    z = torch.randn(1, 8).repeat(4, 1)
    x = G(z, y)
    assert not torch.allclose(x[0], x[1])  # the class changes the image for the same z
    assert D(x, y).shape == (4,)
