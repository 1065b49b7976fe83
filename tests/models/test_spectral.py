import pytest
import torch
from torch import nn

from ganforge.config import load_config
from ganforge.models import build_models, rebuild
from ganforge.models.spectral import apply_spectral_norm, is_normalised, spectral_sigmas


def _normalised_matrix(module: nn.Module) -> torch.Tensor:
    """The weight the layer computes with, as the matrix its sigma refers to (out x rest; in x rest for a
    transposed convolution, whose output channels are dim 1)."""
    w = module.weight
    if isinstance(module, nn.ConvTranspose2d):
        w = w.transpose(0, 1)
    return w.reshape(w.shape[0], -1)


@pytest.mark.parametrize("family", ["dcgan", "sngan", "resnet"])
def test_every_normalised_weight_has_spectral_norm_one(family):
    config = load_config(None, [f"model.name={family}", "model.d_sn=true", "model.g_sn=true",
                                "model.d_norm=none" if family == "dcgan" else "model.d_sn=true",
                                "model.sn_iterations=300", "model.g_channels=8", "model.d_channels=8"])
    torch.manual_seed(0)
    G, D, _ = build_models(config.model, (3, 32, 32))
    with torch.no_grad():  # one training-mode pass: 300 power iterations in every layer
        D(G(torch.randn(4, config.model.z_dim)))
    for net in (G, D):
        layers = [m for m in net.modules() if is_normalised(m)]
        expected = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
        assert layers == expected and layers
        net.eval()  # eval mode: the weight uses the stored u, v without another iteration
        for m in layers:
            sigma = torch.linalg.matrix_norm(_normalised_matrix(m).detach(), ord=2)
            assert sigma.item() == pytest.approx(1.0, abs=2e-3), m
        # the logged estimate is the raw weight's largest singular value
        for name, estimate in spectral_sigmas(net).items():
            raw = net.get_submodule(name).parametrizations.weight.original.detach()
            if isinstance(net.get_submodule(name), nn.ConvTranspose2d):
                raw = raw.transpose(0, 1)
            true = torch.linalg.matrix_norm(raw.reshape(raw.shape[0], -1), ord=2).item()
            assert estimate == pytest.approx(true, rel=1e-3)


def test_training_mode_iterates_and_reading_sigma_does_not():
    """Pins down what `layer_sigma` relies on in PyTorch's parametrisation: a training-mode forward runs a
    power iteration (u moves), an eval-mode one and reading sigma do not, and sigma is u^T W v. A PyTorch
    upgrade that changes any of this fails here."""
    torch.manual_seed(0)
    layer = apply_spectral_norm(nn.Linear(6, 5), iterations=1)
    with torch.no_grad():  # a new raw weight: the stored u, v no longer fit it, so an iteration moves them
        layer.parametrizations.weight.original.copy_(torch.randn(5, 6))
    state = lambda: {k: v.clone() for k, v in layer.state_dict().items()}  # noqa: E731
    before = state()
    sigma = spectral_sigmas(layer)[""]
    after = state()
    assert all(torch.equal(before[k], after[k]) for k in before) and layer.training
    u, v = before["parametrizations.weight.0._u"], before["parametrizations.weight.0._v"]
    assert sigma == pytest.approx(torch.vdot(u, before["parametrizations.weight.original"] @ v).item(), rel=1e-5)
    layer(torch.randn(2, 6))
    assert not torch.equal(before["parametrizations.weight.0._u"], layer.state_dict()["parametrizations.weight.0._u"])
    layer.eval()
    moved = state()
    layer(torch.randn(2, 6))
    assert torch.equal(moved["parametrizations.weight.0._u"], layer.state_dict()["parametrizations.weight.0._u"])


def test_projection_embedding_is_normalised_but_not_conditional_batch_norm_gains():
    config = load_config(None, ["model.name=dcgan", "model.d_sn=true", "model.g_sn=true", "model.g_label=cbn",
                                "model.d_label=projection", "model.g_channels=4", "model.d_channels=4"])
    G, D, _ = build_models(config.model, (1, 8, 8), num_classes=3)
    assert is_normalised(D.embed)
    assert not any(is_normalised(m) for m in G.modules() if isinstance(m, nn.Embedding))
    assert any(isinstance(m, nn.Embedding) for m in G.modules())


def test_spec_records_spectral_norm_and_rebuilds_it():
    config = load_config(None, ["model.name=sngan", "model.d_sn=true", "model.sn_iterations=2",
                                "model.g_channels=4", "model.d_channels=4"])
    G, D, spec = build_models(config.model, (1, 8, 8))
    assert spec["spectral_norm"] == {"discriminator": 2}
    rebuilt = rebuild(spec, "discriminator")
    rebuilt.load_state_dict(D.state_dict())  # same parametrised keys, u and v included
    assert any(k.endswith("_u") for k in D.state_dict())
    D.eval(), rebuilt.eval()
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(D(x), rebuilt(x))
    assert not any(is_normalised(m) for m in rebuild(spec, "generator").modules())
    plain = build_models(load_config(None, ["model.name=sngan"]).model, (1, 8, 8))[2]
    assert "spectral_norm" not in plain
