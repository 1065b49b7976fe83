"""Label modes of G and D, packing and minibatch discrimination as built from the config."""
import pytest
import torch

from ganforge.checks import check_config
from ganforge.config import ModelConfig, make_config
from ganforge.errors import ConfigError
from ganforge.models import build_models


def dcgan(**options):
    config = ModelConfig(name="dcgan", z_dim=8, g_channels=4, d_channels=4, **options)
    return build_models(config, (1, 8, 8), num_classes=10)


@pytest.mark.parametrize("g_label", ["concat", "cbn"])
def test_conditional_generator_needs_and_uses_labels(g_label):
    torch.manual_seed(0)
    G, _, _ = dcgan(g_label=g_label, d_label="projection")
    G.eval()
    z = torch.randn(4, 8)
    with pytest.raises(ValueError, match="class-conditional"):
        G(z)
    a, b = G(z, torch.zeros(4, dtype=torch.long)), G(z, torch.full((4,), 7))
    assert a.shape == (4, 1, 8, 8) and not torch.allclose(a, b)


def test_mlp_generator_with_concat_label():
    G, D, _ = build_models(ModelConfig(name="mlp", z_dim=2, g_channels=8, d_channels=8, depth=1,
                                       g_label="concat", d_label="concat"), (2,), num_classes=3)
    y = torch.tensor([0, 1, 2])
    assert G(torch.randn(3, 2), y).shape == (3, 2)
    assert D(torch.randn(3, 2), y).shape == (3,)


def test_concat_discriminator_sees_the_label():
    torch.manual_seed(0)
    _, D, _ = dcgan(g_label="concat", d_label="concat")
    x = torch.randn(4, 1, 8, 8)
    with pytest.raises(ValueError, match="needs the labels"):
        D(x)
    assert not torch.allclose(D(x, torch.zeros(4, dtype=torch.long)), D(x, torch.ones(4, dtype=torch.long)))


def test_projection_logit_is_unconditional_part_plus_embedding_inner_product():
    torch.manual_seed(0)
    _, D, _ = dcgan(g_label="concat", d_label="projection")
    x, y = torch.randn(4, 1, 8, 8), torch.tensor([1, 2, 3, 4])
    out = D(x, y, full=True)
    expected = D.head(out.features).squeeze(1) + (D.embed.weight[y] * out.features).sum(1)
    torch.testing.assert_close(out.logits, expected)


def test_acgan_discriminator_classifies_every_input():
    _, D, _ = dcgan(g_label="concat", d_label="acgan")
    out = D(torch.randn(4, 1, 8, 8), None, full=True)
    assert out.logits.shape == (4,) and out.class_logits.shape == (4, 10)


def test_k_plus_one_discriminator_has_an_implicit_fake_logit_of_zero():
    _, D, _ = dcgan(d_label="classes")
    out = D(torch.randn(4, 1, 8, 8), None, full=True)
    assert out.class_logits.shape == (4, 10)
    # P(real) = sum_k exp(l_k) / (sum_k exp(l_k) + exp(0)) = sigmoid(logsumexp(l))
    p_real = out.class_logits.exp().sum(1) / (out.class_logits.exp().sum(1) + 1)
    torch.testing.assert_close(torch.sigmoid(out.logits), p_real)


def test_packing_judges_groups_of_samples():
    _, D, _ = dcgan(pack=4)
    assert D.body[0].in_channels == 4
    assert D(torch.randn(8, 1, 8, 8)).shape == (2,)


def test_minibatch_discrimination_widens_the_head():
    _, D, _ = dcgan(mbd_kernels=7, mbd_dim=3)
    assert D.head.in_features == 4 * 4 * 4 + 7  # 8x8: one stage of width 4, 4x4 map
    assert D(torch.randn(4, 1, 8, 8)).shape == (4,)


def test_labels_need_labelled_data():
    with pytest.raises(ConfigError, match="labelled data"):
        build_models(ModelConfig(name="dcgan", d_label="classes"), (1, 8, 8), num_classes=0)


def test_cbn_is_refused_for_the_mlp():
    with pytest.raises(ConfigError, match=r"model.g_label=cbn is not supported by model.name=mlp \(choose none or concat\)"):
        check_config(make_config({}, ["model.name=mlp", "model.g_label=cbn", "model.d_label=acgan"]))
