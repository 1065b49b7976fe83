import torch
from torch import nn

from ganforge.config import ModelConfig
from ganforge.models import build_models


def test_mlp_shapes_and_depth():
    G, D, spec = build_models(ModelConfig(name="mlp", z_dim=3, g_channels=16, d_channels=8, depth=2), (2,))
    assert G(torch.randn(5, 3)).shape == (5, 2)
    assert D(torch.randn(5, 2)).shape == (5,)
    assert sum(isinstance(m, nn.Linear) for m in G.modules()) == 3
    assert [m.out_features for m in D.modules() if isinstance(m, nn.Linear)] == [8, 8, 1]
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, nn.LeakyReLU))
    assert spec["generator"] == {"z_dim": 3, "out_dim": 2, "width": 16, "depth": 2, "num_classes": 0,
                                 "label": "none"}
