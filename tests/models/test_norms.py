"""Reference, virtual and conditional batch norm against their definitions (Salimans et al. 2016)."""
import pytest
import torch
import torch.nn.functional as F

from ganforge.config import ModelConfig
from ganforge.models import build_models
from ganforge.models.norms import BatchNorm, ConditionalNorm, ReferenceBatchNorm, make_norm

R = 16


def layer_input(n=6, channels=3):
    torch.manual_seed(0)
    return torch.randn(R + n, channels, 5, 5) * 2 + 1


def test_reference_norm_uses_the_reference_statistics_only():
    h = layer_input()
    out = ReferenceBatchNorm(3, R, virtual=False)(h)
    ref = h[:R]
    expected = F.batch_norm(h, ref.mean((0, 2, 3)), ref.var((0, 2, 3), unbiased=False), training=False, eps=1e-5)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_virtual_norm_normalises_each_example_with_the_reference_plus_itself():
    h = layer_input()
    out = ReferenceBatchNorm(3, R, virtual=True)(h)
    for i in range(R, len(h)):
        joined = torch.cat([h[:R], h[i:i + 1]])  # the batch statistics of (reference, x_i), per definition
        expected = F.batch_norm(joined, None, None, training=True, eps=1e-5)[-1]
        torch.testing.assert_close(out[i], expected, atol=1e-5, rtol=1e-5)
    reference_only = ReferenceBatchNorm(3, R, virtual=False)(h[:R])
    torch.testing.assert_close(out[:R], reference_only)


@pytest.mark.parametrize("virtual", [False, True])
def test_an_examples_output_does_not_depend_on_its_batch_companions(virtual):
    h = layer_input()
    norm = ReferenceBatchNorm(3, R, virtual=virtual)
    changed = h.clone()
    changed[R + 1:] = torch.randn_like(changed[R + 1:]) * 10
    torch.testing.assert_close(norm(h)[R], norm(changed)[R])
    # plain batch norm is not so: the contrast these layers exist for
    bn = BatchNorm(3).train()
    assert not torch.allclose(bn(h)[R], bn(changed)[R])


def test_virtual_statistics_differ_from_reference_statistics():
    h = layer_input()
    assert not torch.allclose(ReferenceBatchNorm(3, R, True)(h)[R:], ReferenceBatchNorm(3, R, False)(h)[R:])


def test_conditional_norm_scales_and_shifts_per_class():
    norm = make_norm("batch", 3, num_classes=4)
    assert isinstance(norm, ConditionalNorm)
    with torch.no_grad():
        norm.scale.weight.copy_(torch.arange(12.0).view(4, 3))
        norm.shift.weight.copy_(-torch.arange(12.0).view(4, 3))
    h = layer_input(n=0)[:8]
    y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    plain = F.batch_norm(h, None, None, training=True, eps=1e-5)
    expected = plain * torch.arange(12.0).view(4, 3)[y][:, :, None, None] - torch.arange(12.0).view(4, 3)[y][:, :, None, None]
    torch.testing.assert_close(norm(h, y), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["reference", "virtual"])
def test_generator_reference_batch_is_fixed_saved_and_keeps_outputs_per_example(kind):
    config = ModelConfig(name="dcgan", z_dim=8, g_channels=4, d_channels=4, g_norm=kind, reference_size=8)
    G, _, spec = build_models(config, (1, 8, 8))
    assert "reference.z" in G.state_dict()  # checkpoints carry the reference batch
    z = torch.randn(5, 8)
    alone = G(z[:1])
    in_batch = G(z)
    assert in_batch.shape == (5, 1, 8, 8)
    torch.testing.assert_close(alone[0], in_batch[0], atol=1e-6, rtol=1e-5)
    G2, _, _ = build_models(config, (1, 8, 8))  # another draw of the reference batch ...
    G2.load_state_dict(G.state_dict())          # ... replaced by the saved one
    torch.testing.assert_close(G2(z), in_batch)
