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


@pytest.mark.parametrize("norm, layer", [("batch", nn.BatchNorm2d), ("layer", nn.GroupNorm)])
def test_d_norm_layers_follow_every_convolution_but_the_first(norm, layer):
    """Miyato et al. compare SN with these normalisations of D (section 4); each hidden convolution after
    the input layer is followed by one."""
    D = SNGANDiscriminator(resolution=32, channels=1, width=4, norm=norm)
    kinds = [type(m) for m in D.body]
    convs = [i for i, k in enumerate(kinds) if k is nn.Conv2d]
    assert kinds[convs[0] + 1] is nn.LeakyReLU
    assert all(kinds[i + 1] is layer for i in convs[1:])
    assert len(convs) - 1 == sum(k is layer for k in kinds)


def test_layer_norm_normalises_each_sample_over_channels_and_positions():
    D = SNGANDiscriminator(resolution=8, channels=1, width=4, norm="layer")
    norm = next(m for m in D.body if isinstance(m, nn.GroupNorm))
    h = torch.randn(3, norm.num_channels, 5, 5) * 4 + 2
    out = norm(h).flatten(1)
    assert torch.allclose(out.mean(1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(out.var(1, unbiased=False), torch.ones(3), atol=1e-3)


def test_weight_norm_reparametrises_every_weight_as_g_times_v_over_its_norm():
    D = SNGANDiscriminator(resolution=8, channels=1, width=4, norm="weight")
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in D.modules())
    for m in layers:
        g, v = m.parametrizations.weight.original0, m.parametrizations.weight.original1
        with torch.no_grad():
            g.mul_(2.0)
        norms = v.flatten(1).norm(dim=1).view(g.shape)
        assert torch.allclose(m.weight, g * v / norms, atol=1e-6)


def test_default_d_norm_keeps_old_specs_and_dcgan_keeps_batch_norm():
    from ganforge.checks import check_config
    from ganforge.config import make_config
    from ganforge.errors import ConfigError
    from ganforge.models import build_models

    _, _, spec = build_models(make_config({}, ["model.name=sngan"]).model, (1, 8, 8))
    assert "norm" not in spec["discriminator"]  # checkpoints written before d_norm existed still match
    _, D, spec = build_models(make_config({}, ["model.name=dcgan"]).model, (1, 16, 16))
    assert spec["discriminator"]["norm"] == "batch" and any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    with pytest.raises(ConfigError, match=r"model.d_norm=layer is not supported by model.name=dcgan \(choose "
                                          r"batch or none\)"):
        check_config(make_config({}, ["model.name=dcgan", "model.d_norm=layer"]))
