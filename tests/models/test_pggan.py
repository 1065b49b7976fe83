import pytest
import torch
import torch.nn.functional as F

from ganforge.models.equalized import EqualConv2d, MinibatchStdDev
from ganforge.models.pggan import PGGANDiscriminator, PGGANGenerator, stage_widths


def test_stage_widths_follow_the_paper():
    assert stage_widths(1024, 512) == [512, 512, 512, 512, 256, 128, 64, 32, 16]
    assert stage_widths(32, 64) == [64, 64, 64, 64]
    assert stage_widths(32, 256, halve_from=4) == [256, 128, 64, 32]  # DCGAN-like, for the CPU


def _pair(stage: int, alpha: float):
    torch.manual_seed(0)
    G, D = PGGANGenerator(8, 32, 1, 16), PGGANDiscriminator(32, 1, 16)
    G.set_growth(stage, alpha), D.set_growth(stage, alpha)
    return G, D


def test_generator_fade_in_at_alpha_zero_is_the_previous_stage_upscaled_and_at_one_the_new_block():
    z = torch.randn(4, 8)
    G, _ = _pair(2, 0.0)
    faded_out = G(z)
    G.set_growth(1, 1.0)
    previous = G(z)  # 8x8 content, returned at 32x32
    assert torch.allclose(faded_out, previous, atol=1e-6)
    # at alpha = 1 the output is the new block's toRGB at 16x16, upsampled 2x to 32x32
    G.set_growth(2, 1.0)
    new = G(z)
    assert torch.equal(new[:, :, ::2, ::2], new[:, :, 1::2, 1::2])  # 2x nearest upsampling of 16x16
    assert not torch.allclose(new, previous, atol=1e-3)
    G.set_growth(2, 0.3)
    assert torch.allclose(G(z), 0.7 * previous + 0.3 * new, atol=1e-5)


def test_discriminator_fade_in_blends_the_pooled_path_and_the_new_block():
    _, D = _pair(2, 0.0)
    x = torch.randn(4, 1, 32, 32)
    body = D.body
    at_zero = D(x)
    # alpha = 0: D is the previous stage's network reading the image pooled to 8x8
    D.set_growth(1, 1.0)
    assert torch.allclose(at_zero, D(x), atol=1e-5)
    D.set_growth(2, 0.25)
    x16 = F.avg_pool2d(x, 2)
    old = F.leaky_relu(body.from_rgb[1](F.avg_pool2d(x16, 2)), 0.2)
    new = body._block(1, F.leaky_relu(body.from_rgb[2](x16), 0.2))
    h = body._block(0, torch.lerp(old, new, 0.25))
    h = F.leaky_relu(body.last_conv(body.mbstd(h)), 0.2)
    expected = D.head(F.leaky_relu(body.dense(h.flatten(1)), 0.2)).squeeze(1)
    assert torch.allclose(D(x), expected, atol=1e-5)


def test_full_growth_has_two_convolutions_per_stage_and_1x1_rgb_layers():
    G, D = PGGANGenerator(8, 32, 3, 16), PGGANDiscriminator(32, 3, 16)
    assert len(G.blocks) == 3 and all(len(b) == 2 for b in G.blocks)
    assert all(c.weight.shape[-1] == 1 for c in [*G.to_rgb, *D.body.from_rgb])
    assert isinstance(D.body.mbstd, MinibatchStdDev) and D.body.last_conv.weight.shape[1] == 17
    assert PGGANDiscriminator(32, 3, 16, mbstd_group=0).body.mbstd is None
    assert all(isinstance(m, EqualConv2d) for b in G.blocks for m in b)


def test_growth_state_is_saved_and_checked():
    G, _ = _pair(1, 0.4)
    state = G.state_dict()
    assert state["growth.stage"].item() == 1 and state["growth.alpha"].item() == pytest.approx(0.4)
    with pytest.raises(ValueError, match="outside"):
        G.set_growth(4, 1.0)


def test_a_loaded_state_sets_the_stage_the_forward_pass_runs():
    G, D = _pair(1, 0.4)
    G2, D2 = PGGANGenerator(8, 32, 1, 16), PGGANDiscriminator(32, 1, 16)  # fully grown until loaded
    G2.load_state_dict(G.state_dict()), D2.load_state_dict(D.state_dict())
    z, x = torch.randn(4, 8), torch.randn(4, 1, 32, 32)
    assert torch.equal(G2(z), G(z)) and torch.equal(D2(x), D(x))
    assert (G2.growth.active, G2.growth.fading, D2.body.growth.active) == (1, True, 1)


def test_the_forward_pass_never_reads_the_growth_state_back_from_the_device():
    """On the meta device any host read of a tensor (int(), float(), .item()) raises, so a forward pass that
    runs there would not stall a GPU queue either, during a fade or after it."""
    for alpha in (0.4, 1.0):
        G, D = _pair(2, alpha)
        G, D = G.to("meta"), D.to("meta")
        assert G(torch.randn(4, 8, device="meta")).shape == (4, 1, 32, 32)
        assert D(torch.randn(4, 1, 32, 32, device="meta")).shape == (4,)
