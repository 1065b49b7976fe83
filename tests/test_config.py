import pytest

from ganforge.config import RunConfig, dump_yaml, load_config, make_config, parse_override
from ganforge.errors import ConfigError


def test_defaults_and_overrides_get_their_types():
    config = make_config({"train": {"steps": 10}}, ["optim.g.lr=1e-3", "train.amp=true", "data.std=null",
                                                   "model.g_channels=32", "optim.d.beta1=0"])
    assert config.train.steps == 10
    assert config.optim.g.lr == 1e-3 and isinstance(config.optim.d.beta1, float)
    assert config.train.amp == "bf16" and config.data.std is None and config.model.g_channels == 32


def test_unknown_key_is_named_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"unknown config key 'train.stpes' \(did you mean 'train.steps'\?\)"):
        make_config({}, ["train.stpes=5"])


def test_unknown_section_is_rejected():
    with pytest.raises(ConfigError, match="unknown config key 'trian'"):
        make_config({"trian": {"steps": 1}})


@pytest.mark.parametrize("override, message", [
    ("train.steps=1.5", "train.steps' must be int"),
    ("train.steps=abc", "train.steps' must be int"),
    ("train.amp=3", "train.amp' must be str"),
    ("train.amp=fp8", "train.amp must be one of none, bf16, fp16"),
    ("train.compile=fast", "train.compile must be one of none, default"),
    ("optim.impl=apex", "optim.impl must be one of auto, loop, foreach, fused"),
    ("model.name=3", "model.name' must be str"),
    ("train=5", "'train' must be a mapping"),
    ("train.steps=0", "train.steps must be positive"),
    ("optim.g.beta1=1.0", r"optim.g.beta1 must be in \[0, 1\)"),
    ("data.resolution=48", "power of two"),
    ("steps", "must look like key=value"),
])
def test_bad_values_are_rejected(override, message):
    with pytest.raises(ConfigError, match=message):
        make_config({}, [override])


def test_resolved_config_round_trips_through_yaml(tmp_path):
    config = make_config({"model": {"name": "dcgan"}}, ["train.steps=7"])
    path = tmp_path / "config.yaml"
    path.write_text(dump_yaml(config))
    assert load_config(path) == config


def test_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(listing)


def test_parse_override_keeps_strings():
    assert parse_override("data.root=/tmp/x") == ("data.root", "/tmp/x")
    assert parse_override("data.name=fashion-mnist") == ("data.name", "fashion-mnist")


def test_every_shipped_preset_is_valid():
    from pathlib import Path

    import ganforge

    presets = sorted((Path(ganforge.__file__).parent / "configs").glob("*.yaml"))
    assert presets, "no presets shipped"
    for preset in presets:
        assert isinstance(load_config(preset), RunConfig)
