import pytest
import torch
from torch import nn

from ganforge.config import ModelConfig
from ganforge.models import build_models, rebuild
from ganforge.models.dcgan import DCGANDiscriminator, DCGANGenerator


@pytest.mark.parametrize("resolution, channels", [(8, 1), (32, 1), (32, 3), (64, 3)])
def test_shapes_and_output_range(resolution, channels):
    G = DCGANGenerator(z_dim=16, resolution=resolution, channels=channels, width=8)
    D = DCGANDiscriminator(resolution=resolution, channels=channels, width=8)
    x = G(torch.randn(3, 16))
    assert x.shape == (3, channels, resolution, resolution)
    assert x.abs().max() <= 1.0
    assert D(x).shape == (3,)


def test_radford_guidelines():
    G = DCGANGenerator(z_dim=100, resolution=32, channels=1, width=64)
    D = DCGANDiscriminator(resolution=32, channels=1, width=64)
    d_layers = list(D.body)
    # no pooling and no fully connected hidden layers: D's only linear layer is its output, which reads the
    # flattened last convolution as in the paper
    for net in (G, D):
        assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in net.modules())
    assert not any(isinstance(m, nn.Linear) for m in G.modules())
    assert [m for m in D.modules() if isinstance(m, nn.Linear)] == [D.head] and D.head.out_features == 1
    # batch norm everywhere but G's output layer and D's input layer
    assert isinstance(d_layers[0], nn.Conv2d) and isinstance(d_layers[1], nn.LeakyReLU)
    assert d_layers[1].negative_slope == 0.2
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == 3 == len(G.convs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in D.modules()) == 2
    assert all(isinstance(m, nn.ReLU) for m in G.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU)))
    # strides: each G/D conv except the 4x4 projection/head changes resolution by 2
    assert [m.stride for m in [*G.convs, G.to_image]] == [(1, 1)] + [(2, 2)] * 3
    # N(0, 0.02) initialisation
    weights = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert weights.mean().abs() < 1e-3 and weights.std().item() == pytest.approx(0.02, rel=0.05)


def test_build_and_rebuild_from_spec():
    G, D, spec = build_models(ModelConfig(name="dcgan", z_dim=8, g_channels=4, d_channels=4), (1, 16, 16))
    assert spec["family"] == "dcgan"
    assert spec["generator"] == {"z_dim": 8, "resolution": 16, "channels": 1, "width": 4, "num_classes": 0,
                                 "label": "none", "norm": "batch", "reference_size": 64}
    assert spec["discriminator"] == {"resolution": 16, "channels": 1, "width": 4, "num_classes": 0,
                                     "label": "none", "pack": 1, "mbd_kernels": 0, "mbd_dim": 5, "norm": "batch"}
    G2 = rebuild(spec, "generator")
    G2.load_state_dict(G.state_dict())
    z = torch.randn(2, 8)
    assert torch.equal(G.eval()(z), G2.eval()(z))


def test_wrong_data_shape_is_a_config_error():
    from ganforge.errors import ConfigError

    with pytest.raises(ConfigError, match="square images"):
        build_models(ModelConfig(name="dcgan"), (2,))
    with pytest.raises(ConfigError, match="expects points"):
        build_models(ModelConfig(name="mlp"), (1, 32, 32))


def test_discriminator_without_batch_norm_gets_conv_biases():
    D = DCGANDiscriminator(resolution=32, channels=1, width=8, norm="none")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    convs = [m for m in D.body if isinstance(m, nn.Conv2d)]
    assert convs[0].bias is None and all(c.bias is not None for c in convs[1:])
