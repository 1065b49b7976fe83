"""Packing, label input and minibatch discrimination against direct computations."""
import math

import torch

from ganforge.models.layers import MinibatchDiscrimination, join_label, pack


def test_pack_concatenates_consecutive_samples_along_channels():
    x = torch.randn(6, 2, 3, 3)
    packed = pack(x, 3)
    assert packed.shape == (2, 6, 3, 3)
    assert torch.equal(packed[1], torch.cat([x[3], x[4], x[5]]))
    points = torch.randn(4, 2)
    assert torch.equal(pack(points, 2)[1], torch.cat([points[2], points[3]]))


def test_join_label_adds_one_hot_planes():
    x = torch.zeros(2, 1, 4, 4)
    joined = join_label(x, torch.tensor([2, 0]), 3)
    assert joined.shape == (2, 4, 4, 4)
    assert joined[0, 3].eq(1).all() and joined[0, 1:3].eq(0).all() and joined[1, 1].eq(1).all()


def test_minibatch_discrimination_matches_its_definition():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=6, kernels=4, kernel_dim=3)
    f = torch.randn(5, 6)
    out = layer(f)
    assert out.shape == (5, 10) and torch.equal(out[:, :6], f)
    M = (f @ layer.T).view(5, 4, 3)
    for i in range(5):
        for b in range(4):
            expected = sum(math.exp(-(M[i, b] - M[j, b]).abs().sum().item()) for j in range(5) if j != i)
            assert abs(out[i, 6 + b].item() - expected) < 1e-5


def test_minibatch_features_see_the_rest_of_the_batch():
    layer = MinibatchDiscrimination(6, 4, 3)
    identical = torch.ones(8, 6)
    torch.testing.assert_close(layer(identical)[:, 6:], torch.full((8, 4), 7.0))  # n - 1 twins each
    varied = identical.clone()
    varied[1:] += torch.randn(7, 6) * 5
    assert (layer(varied)[0, 6:] < 7.0).all()  # same sample 0, different companions, different features


def test_minibatch_discrimination_takes_a_gradient_penalty():
    """R1 and WGAN-GP differentiate D's input gradient again: the layer must have a second derivative."""
    layer = MinibatchDiscrimination(6, 4, 3)
    f = torch.randn(5, 6, requires_grad=True)
    (grad,) = torch.autograd.grad(layer(f).sum(), f, create_graph=True)
    grad.pow(2).sum().backward()
    assert layer.T.grad is not None and torch.isfinite(layer.T.grad).all() and layer.T.grad.abs().sum() > 0
