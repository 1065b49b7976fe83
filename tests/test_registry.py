"""Registries: names in, components out, clear errors; and a new family or loss is one registration."""
import pytest
import torch

from ganforge.config import make_config
from ganforge.errors import ConfigError
from ganforge.models import build_models
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
    from ganforge.checks import check_config, check_model
    from ganforge.engine.loop import train
    from ganforge.models import ModelFamily
    from ganforge.models.mlp import MLPDiscriminator, MLPGenerator, _arguments

    _register(monkeypatch, MODELS, "tiny", ModelFamily(MLPGenerator, MLPDiscriminator, _arguments, "test",
                                                        packing=False, minibatch_discrimination=False,
                                                        options=("depth",)))
    config = make_config({}, toy_overrides(tmp_path, steps=5) + ["model.name=tiny", "model.depth=2"])
    assert check_model(config) is MODELS.get("tiny")
    assert train(config, run_dir=tmp_path / "run").steps == 5
    for option in ("model.pack=2", "model.mbd_kernels=3"):
        with pytest.raises(ConfigError, match=rf"{option} does not apply to model.name=tiny \(it has no such"):
            check_config(make_config({}, toy_overrides(tmp_path) + ["model.name=tiny", option]))
    with pytest.raises(ConfigError, match=r"model.halve_from=32 does not apply to model.name=tiny \(only pggan"):
        check_config(make_config({}, toy_overrides(tmp_path) + ["model.name=tiny", "model.halve_from=32"]))


def test_a_new_loss_is_one_registration_and_says_whether_smoothing_applies(tmp_path, monkeypatch):
    from ganforge.engine.loop import train
    from ganforge.checks import check_config
    from ganforge.losses import GanLoss, bce_d_loss, non_saturating_g_loss

    _register(monkeypatch, LOSSES, "plain", GanLoss(bce_d_loss, non_saturating_g_loss, "test"))
    _register(monkeypatch, LOSSES, "soft", GanLoss(bce_d_loss, non_saturating_g_loss, "test", smoothable=True))
    with pytest.raises(ConfigError, match="loss.name=plain has none"):
        check_config(make_config({}, toy_overrides(tmp_path) + ["loss.name=plain", "loss.real_label=0.9"]))
    config = make_config({}, toy_overrides(tmp_path, steps=5) + ["loss.name=soft", "loss.real_label=0.9"])
    assert train(config, run_dir=tmp_path / "run").steps == 5


def test_conditional_batch_norm_is_offered_exactly_to_families_with_g_norm_layers(tmp_path):
    """cbn conditions G's norm layers, so the check derives it from `ModelFamily.g_norms`: the families that
    declare norm layers take it and build per-class norms; the others refuse it in one line."""
    from ganforge.checks import check_config
    from ganforge.models.norms import ConditionalNorm

    labelled = ["model.g_label=cbn", "model.d_label=projection", "model.g_channels=4", "model.d_channels=4"]
    for name in MODELS.names():
        family = MODELS.get(name)
        config = make_config({}, [f"model.name={name}", *labelled])
        if not family.g_norms:
            with pytest.raises(ConfigError, match=rf"model.g_label=cbn is not supported by model.name={name}"):
                check_config(config)
            continue
        check_config(config)
        G, _, _ = build_models(config.model, (1, 16, 16), num_classes=3)
        assert any(isinstance(m, ConditionalNorm) for m in G.modules()), name


def test_an_option_written_at_its_default_is_refused_where_it_does_not_apply(tmp_path):
    """`model.mbstd_group=4` is the default, but written on a DCGAN it asks for a layer DCGAN does not have;
    left unwritten it asks for nothing. A resolved config (every section named, as config.yaml) asks for
    nothing by naming its keys."""
    from ganforge.checks import check_config
    from ganforge.config import to_dict

    with pytest.raises(ConfigError, match=r"model.mbstd_group=4 does not apply to model.name=dcgan"):
        check_config(make_config({}, ["model.name=dcgan", "model.mbstd_group=4"]))
    with pytest.raises(ConfigError, match=r"model.mbstd_group=4 does not apply to model.name=dcgan"):
        check_config(make_config({"model": {"name": "dcgan", "mbstd_group": 4}}))
    with pytest.raises(ConfigError, match=r"loss.name=hinge has none"):
        check_config(make_config({}, ["loss.name=hinge", "loss.real_label=1.0"]))
    dcgan = make_config({}, ["model.name=dcgan"])
    check_config(dcgan)
    check_config(make_config(to_dict(dcgan)))


def test_growing_networks_expose_their_stages():
    from ganforge.config import ModelConfig
    from ganforge.models import build_models, growth_stages

    G, D, _ = build_models(ModelConfig(name="pggan", g_channels=4, d_channels=4), (1, 16, 16))
    assert growth_stages(G) == growth_stages(D) == MODELS.get("pggan").growth_stages(16) == 3
    G.set_growth(1, 0.5)
    assert G(torch.randn(2, 64)).shape == (2, 1, 16, 16)
    plain, _, _ = build_models(ModelConfig(name="dcgan", g_channels=4, d_channels=4), (1, 16, 16))
    assert growth_stages(plain) == 0
