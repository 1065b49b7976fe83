"""Registries: names in, components out, clear errors; and a new family or loss is one registration."""
import pytest
import torch

from ganforge.config import make_config
from ganforge.errors import ConfigError
from ganforge.registry import LOSSES, MODELS, Registry

from .runs import toy_overrides


def test_registry_returns_what_was_registered_and_describes_it():
    registry: Registry = Registry("widget")

    @registry.register("b")
    def b():
        """Second widget.

        More text that `ganforge list` does not show."""

    registry.register("a", help="first widget")(len)
    assert registry.get("b") is b and registry.get("a") is len
    assert registry.names() == ["a", "b"] and "a" in registry and "c" not in registry
    assert list(registry.describe()) == [("a", "first widget"), ("b", "Second widget.")]


def test_registry_refuses_duplicates_and_suggests_close_names():
    registry: Registry = Registry("widget")
    registry.register("spanner")(object())
    with pytest.raises(ValueError, match="widget 'spanner' is registered twice"):
        registry.register("spanner")(object())
    with pytest.raises(ConfigError, match=r"unknown widget 'spaner' \(did you mean 'spanner'\?\); known: spanner"):
        registry.get("spaner")


def _register(monkeypatch, registry: Registry, name: str, item) -> None:
    """Register `item` for one test only."""
    monkeypatch.setitem(registry._items, name, item)
    monkeypatch.setitem(registry._help, name, "test")


def test_a_new_family_is_one_registration_and_its_declarations_are_enforced(tmp_path, monkeypatch):
    """A family declared with growing and its own options: the config accepts them for it, refuses them for
    the others, and the run trains with nothing else changed."""
    from ganforge.engine.loop import train
    from ganforge.models import ModelFamily, build_models, check_options
    from ganforge.models.mlp import MLPDiscriminator, MLPGenerator, _arguments

    _register(monkeypatch, MODELS, "tiny", ModelFamily(MLPGenerator, MLPDiscriminator, _arguments, "test",
                                                        d_labels=("none",), packing=False, options=("depth",)))
    config = make_config({}, toy_overrides(tmp_path, steps=5) + ["model.name=tiny"])
    assert check_options(config.model) is MODELS.get("tiny")
    assert train(config, run_dir=tmp_path / "run").steps == 5
    with pytest.raises(ConfigError, match=r"model.pack=2 does not apply to model.name=tiny \(it has no such"):
        make_config({}, toy_overrides(tmp_path) + ["model.name=tiny", "model.pack=2"])
    with pytest.raises(ConfigError, match=r"model.d_label=classes is not supported by model.name=tiny"):
        build_models(config.model.__class__(name="tiny", d_label="classes"), (2,), num_classes=3)


def test_a_new_loss_is_one_registration_and_says_whether_smoothing_applies(tmp_path, monkeypatch):
    from ganforge.engine.loop import train
    from ganforge.losses import GanLoss, bce_d_loss, non_saturating_g_loss

    _register(monkeypatch, LOSSES, "plain", GanLoss(bce_d_loss, non_saturating_g_loss, "test"))
    _register(monkeypatch, LOSSES, "soft", GanLoss(bce_d_loss, non_saturating_g_loss, "test", smoothable=True))
    with pytest.raises(ConfigError, match="loss.name=plain has none"):
        make_config({}, toy_overrides(tmp_path) + ["loss.name=plain", "loss.real_label=0.9"])
    config = make_config({}, toy_overrides(tmp_path, steps=5) + ["loss.name=soft", "loss.real_label=0.9"])
    assert train(config, run_dir=tmp_path / "run").steps == 5


def test_every_registered_family_declares_consistent_capabilities():
    from ganforge.models import G_NORMS
    from ganforge.models.discriminator import LABEL_MODES

    for name in MODELS.names():
        family = MODELS.get(name)
        assert set(family.d_labels) <= set(LABEL_MODES) and "none" in family.d_labels, name
        assert set(family.g_norms) <= set(G_NORMS), name
        assert ("cbn" in family.g_labels) == bool(family.g_norms), name  # cbn is a G norm layer


def test_growing_networks_expose_their_stages():
    from ganforge.config import ModelConfig
    from ganforge.models import build_models, growth_stages

    G, D, _ = build_models(ModelConfig(name="pggan", g_channels=4, d_channels=4), (1, 16, 16))
    assert growth_stages(G) == growth_stages(D) == MODELS.get("pggan").growth_stages(16) == 3
    G.set_growth(1, 0.5)
    assert G(torch.randn(2, 64)).shape == (2, 1, 16, 16)
    plain, _, _ = build_models(ModelConfig(name="dcgan", g_channels=4, d_channels=4), (1, 16, 16))
    assert growth_stages(plain) == 0
