import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import make_config
from ganforge.engine.checkpoint import load_checkpoint
from ganforge.engine.loop import train
from ganforge.errors import ConfigError
from ganforge.models import build_models, rebuild
from ganforge.models.r3gan import GAIN, R3GANDiscriminator, R3GANGenerator, Resample, ResidualBlock
from ganforge.models.spectral import is_normalised

from ..runs import image_overrides


def _models(resolution: int, channels: int = 1, width: int = 16, *overrides: str):
    config = make_config({}, ["model.name=r3gan", "model.z_dim=8", f"model.g_channels={width}",
                              f"model.d_channels={width}", *overrides])
    return build_models(config.model, (channels, resolution, resolution))


@pytest.mark.parametrize("resolution, channels, widths", [
    (32, 3, [32, 32, 32, 32]), (64, 1, [32, 32, 32, 32, 16]), (128, 1, [32, 32, 32, 32, 16, 8])])
def test_shapes_and_widths(resolution, channels, widths):
    """Full width up to model.halve_from (32), then halving at each doubling, as the paper's FFHQ settings."""
    G, D, spec = _models(resolution, channels, 32)
    assert spec["generator"]["widths"] == spec["discriminator"]["widths"] == widths
    x = G(torch.randn(1, 8))
    assert x.shape == (1, channels, resolution, resolution)
    assert D(x, full=True).features.shape == (1, 32)  # the 4x4 basis: one value per channel
    assert D(torch.cat([x, -x])).shape == (2,)


def test_widths_must_split_into_groups_and_sides_be_powers_of_two():
    with pytest.raises(ConfigError, match=r"model.g_channels=12 .* groups of 16 channels"):
        _models(32, 1, 12)
    with pytest.raises(ConfigError, match=r"model.g_channels=16 gives r3gan widths \[16, 16, 16, 16, 8, 4\]"):
        _models(128, 1, 16)
    with pytest.raises(ConfigError, match="power of two"):
        _models(24, 1)


def test_the_paper_cifar10_setting():
    """g_channels=768 is the paper's CIFAR-10 network: 768 channels at 4x4..32x32, 2 blocks per stage,
    expansion 2, 96 groups in each 3x3 convolution of the 1536 expanded channels."""
    G, D, _ = _models(32, 3, 768, "model.z_dim=64")
    for net in (G, D):
        blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
        assert len(blocks) == 8
        grouped = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
        assert len(grouped) == 8 and {(m.in_channels, m.out_channels, m.groups) for m in grouped} == {(1536, 1536, 96)}
    assert G.basis.linear.in_features == 64


def test_parameter_count_by_hand():
    G = R3GANGenerator(z_dim=8, channels=1, widths=[16, 8], blocks=1, expansion=2, group_size=8)
    D = R3GANDiscriminator(channels=1, widths=[16, 8], blocks=1, expansion=2, group_size=8)
    # a block of width C, expansion 2 (2C channels in groups of 8): (C*2C + 2C) + (2C*8*9 + 2C) + 2C*C
    block16 = (16 * 32 + 32) + (32 * 8 * 9 + 32) + 32 * 16  # 3392
    block8 = (8 * 16 + 16) + (16 * 8 * 9 + 16) + 16 * 8     # 1440
    # G: basis 16x4x4 + linear 8->16, block at 4x4, 1x1 16->8 then up, block at 8x8, 1x1 8->1 to the image
    assert sum(p.numel() for p in G.parameters()) == 16 * 16 + 8 * 16 + block16 + 16 * 8 + block8 + 8 == 5352
    # D: 1x1 1->8, block at 8x8, down then 1x1 8->16, block at 4x4, depthwise 4x4 basis, dense 16->1 with bias
    assert sum(p.numel() for p in D.parameters()) == 8 + block8 + 8 * 16 + block16 + 16 * 16 + 17 == 5241


def test_fixup_init_every_block_starts_as_the_identity():
    G, D, _ = _models(32, 1, 32)
    for net in (G, D):
        blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
        assert len(blocks) == 8
        for block in blocks:
            x = torch.randn(2, block.branch[0].in_channels, 8, 8)
            assert torch.equal(block(x), x)
            assert not block.branch[-1].weight.any()


def test_fixup_init_scales_the_other_branch_layers_by_blocks_to_the_minus_quarter():
    """N(0, (gain * L^-1/4)^2 / fan_in) with leaky ReLU's gain and L = 8 residual blocks."""
    block = ResidualBlock(64, 2, 16, total_blocks=8)
    for conv in (block.branch[0], block.branch[2]):
        fan_in = conv.weight[0].numel()
        expected = GAIN * 8 ** -0.25 / math.sqrt(fan_in)
        assert conv.weight.std().item() == pytest.approx(expected, rel=0.05)
        assert not conv.bias.any()


def test_the_zero_layer_still_learns():
    """The zero-initialised last layer gets a gradient at once, so blocks leave the identity in training."""
    block = ResidualBlock(16, 2, 16, total_blocks=2)
    block(torch.randn(4, 16, 4, 4)).pow(2).sum().backward()
    assert block.branch[-1].weight.grad.abs().sum() > 0


def test_grouped_convolutions_with_the_declared_groups():
    for group_size, groups in ((16, 4), (8, 8), (32, 2)):
        G = R3GANGenerator(8, 1, [32, 32], group_size=group_size)
        D = R3GANDiscriminator(1, [32, 32], group_size=group_size)
        for net in (G, D):
            convs = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
            assert len(convs) == 4 and all(c.groups == groups and c.in_channels == 64 for c in convs)
    with pytest.raises(ValueError, match="groups of 16"):
        R3GANGenerator(8, 1, [12, 12])


def test_no_normalisation_layers_and_leaky_relu_0_2():
    G, D, _ = _models(64, 3)
    for net in (G, D):
        assert not [m for m in net.modules() if "norm" in type(m).__name__.lower()]
        assert {m.negative_slope for m in net.modules() if isinstance(m, nn.LeakyReLU)} == {0.2}
        assert not any(isinstance(m, (nn.ReLU, nn.Tanh)) for m in net.modules())


def test_resampling_is_bilinear_interpolation_inside_the_border():
    x = torch.randn(2, 3, 6, 6)
    up, down = Resample(up=True)(x), Resample(up=False)(x)
    bilinear_up = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    # down-sampling by 2 with the [1, 3, 3, 1] / 8 filter is bilinear's triangle widened to the coarser grid
    bilinear_down = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False, antialias=True)
    assert torch.allclose(up[..., 1:-1, 1:-1], bilinear_up[..., 1:-1, 1:-1], atol=1e-6)
    assert torch.allclose(down[..., 1:-1, 1:-1], bilinear_down[..., 1:-1, 1:-1], atol=1e-6)
    assert not torch.allclose(up, bilinear_up)  # zero beyond the border, as the official code pads
    assert torch.allclose(Resample(up=True)(torch.ones(1, 1, 4, 4))[..., 1:-1, 1:-1], torch.ones(1, 1, 6, 6))


def test_spectral_norm_applies_to_every_d_layer():
    _, D, spec = _models(16, 1, 16, "model.d_sn=true")
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(is_normalised(m) for m in layers)
    # SN keeps only a weight's direction: the zero-initialised layers are drawn again, not divided by 0
    out = D(torch.randn(3, 1, 16, 16))
    assert torch.isfinite(out).all()
    assert spec["spectral_norm"] == {"discriminator": 1}


def test_class_conditioning_as_the_paper_and_no_cbn():
    """The paper joins a label embedding to z (g_label=concat spans the same maps) and projects in D."""
    from ganforge.checks import check_config

    overrides = ["model.name=r3gan", "model.z_dim=8", "model.g_channels=16", "model.d_channels=16",
                 "model.g_label=concat", "model.d_label=projection"]
    G, D, _ = build_models(make_config({}, overrides).model, (1, 16, 16), num_classes=3)
    z, y = torch.randn(1, 8).repeat(3, 1), torch.tensor([0, 1, 2])
    x = G(z, y)
    assert not torch.allclose(x[0], x[1])  # the same z, another class, another image
    assert D(x, y).shape == (3,)
    with pytest.raises(ConfigError, match="model.g_label=cbn is not supported by model.name=r3gan"):
        check_config(make_config({}, overrides[:-2] + ["model.g_label=cbn", "model.d_label=projection"]))
    with pytest.raises(ConfigError, match="model.g_norm=virtual does not apply to model.name=r3gan"):
        check_config(make_config({}, overrides[:-2] + ["model.g_norm=virtual"]))


def test_trains_with_rpgan_r1_r2_and_rebuilds_from_its_checkpoint(tiny_images, tmp_path):
    config = make_config({}, image_overrides(tiny_images, tmp_path, steps=3) + [
        "model.name=r3gan", "model.g_channels=8", "model.d_channels=8", "loss.name=rpgan", "reg.r1=0.05",
        "reg.r2=0.05", "optim.g.beta1=0", "optim.d.beta1=0", "optim.g.beta2=0.9", "optim.d.beta2=0.9"])
    result = train(config, run_dir=tmp_path / "run")
    assert result.steps == 3
    last = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[-1])
    assert last["reg/r1"] > 0 and last["reg/r2"] > 0 and math.isfinite(last["loss/d"])
    payload = load_checkpoint(result.checkpoint)
    spec = payload["models"]
    assert spec["family"] == "r3gan" and spec["generator"]["widths"] == [8, 8]
    G = rebuild(spec, "generator")
    G.load_state_dict(payload["generator"])  # strict: the same parameter names, no stored resampling kernel
    D = rebuild(spec, "discriminator")
    D.load_state_dict(payload["discriminator"])
    # trained: the zero-initialised layers have moved, so the blocks are no longer the identity
    assert any(block.branch[-1].weight.any() for block in G.modules() if isinstance(block, ResidualBlock))
    assert torch.isfinite(D(G(torch.randn(4, 8)))).all()
