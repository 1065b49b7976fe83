"""The `schedule` ramps against hand values, and the config's checks of the `schedule` section."""
import math
import re

import pytest
import yaml

from ganforge.checks import check_config, config_warnings
from ganforge.config import dump_yaml, make_config
from ganforge.errors import ConfigError
from ganforge.schedule import ema_beta, ramp, ramped


@pytest.mark.parametrize("images, cosine, linear", [
    (0, 0.9, 0.9),
    (250, 0.9 + 0.09 * (1 - math.sqrt(0.5)) / 2, 0.9225),  # cos(pi/4) = sqrt(1/2)
    (500, 0.945, 0.945),                                    # both halfway at t = T/2
    (750, 0.9 + 0.09 * (1 + math.sqrt(0.5)) / 2, 0.9675),
    (1000, 0.99, 0.99),
    (5000, 0.99, 0.99),                                     # held after the horizon
])
def test_ramp_by_hand(images, cosine, linear):
    assert ramp(0.9, 0.99, images, 1000, "cosine") == pytest.approx(cosine, abs=1e-15)
    assert ramp(0.9, 0.99, images, 1000, "linear") == pytest.approx(linear, abs=1e-15)


def test_learning_rate_ramp_midway():
    assert ramp(2e-4, 5e-5, 10_000_000, 20_000_000) == pytest.approx(1.25e-4, rel=1e-12)  # R3GAN's, halfway


def test_ema_beta_is_a_half_life_in_images():
    assert ema_beta(1000, 1000) == 0.5
    assert ema_beta(2000, 500) == pytest.approx(2 ** -0.25)
    assert ema_beta(2000, 500) ** 4 == pytest.approx(0.5)  # four updates of 500 images halve the old weight
    assert ema_beta(0.0, 32) == 0.0  # no history: the average is G itself


SCHEDULE = ["schedule.images=1000", "schedule.lr_end=5e-5", "schedule.beta2_end=0.99", "schedule.gamma_end=0.005",
            "schedule.ema_half_life=400", "schedule.augment_p_end=0.5"]
REG = ["reg.r1=0.05", "reg.r2=0.05", "optim.g.lr=2e-4", "optim.d.lr=4e-4", "optim.g.beta2=0.9",
       "optim.d.beta2=0.9", "data.augment=translation", "data.augment_p=0"]


def test_ramped_names_each_value_by_the_key_it_starts_from():
    config = make_config({}, [*REG, *SCHEDULE])
    half = (1 - math.cos(math.pi * 0.3)) / 2  # 300 of 1000 images
    assert ramped(config, 300) == pytest.approx({
        "optim.g.lr": 2e-4 + (5e-5 - 2e-4) * half, "optim.d.lr": 4e-4 + (5e-5 - 4e-4) * half,
        "optim.g.beta2": 0.9 + 0.09 * half, "optim.d.beta2": 0.9 + 0.09 * half,
        "reg.r1": 0.05 - 0.045 * half, "reg.r2": 0.05 - 0.045 * half,
        "data.augment_p": 0.5 * half, "ema_half_life": 400 * half})


def test_gamma_ramps_only_the_penalties_that_are_on():
    config = make_config({}, ["reg.r1=1.0", "schedule.images=100", "schedule.gamma_end=0.1"])
    assert ramped(config, 100) == {"reg.r1": 0.1}


def test_default_config_has_no_schedule():
    config = make_config({})
    assert config.schedule.images == 0 and ramped(config, 10**6) == {}


def test_resolved_config_written_before_the_schedule_section_asks_for_nothing():
    """A config.yaml or checkpoint config from before the section existed is still a resolved config, so its
    default-valued family options are not read as written (and refused on resume)."""
    tree = yaml.safe_load(dump_yaml(make_config({}, ["model.name=dcgan"])))
    del tree["schedule"]
    config = make_config(tree)
    assert config.written == frozenset() and config.schedule.images == 0
    check_config(config)  # model.mbstd_group=4 is in the tree, but not asked for


@pytest.mark.parametrize("overrides, message", [
    (["schedule.lr_end=5e-5"], "schedule.lr_end needs schedule.images"),
    (["schedule.shape=linear"], "schedule.shape needs schedule.images"),
    (["schedule.images=1000"], "schedule.images=1000 ramps nothing"),
    (["schedule.images=1000", "schedule.gamma_end=0.005"], "schedule.gamma_end=0.005 ramps the R1/R2 weights"),
    (["schedule.images=1000", "schedule.ema_half_life=500", "train.ema_decay=0.999"],
     "train.ema_decay sets its decay otherwise"),
    (["schedule.images=1000", "schedule.ema_half_life=500", "train.ema_rampup=true"],
     "train.ema_rampup sets its decay otherwise"),
    (["schedule.images=1000", "schedule.augment_p_end=0.5"], "data.augment is off"),
    (["schedule.images=1000", "schedule.augment_p_end=0.5", "data.augment=color", "data.augment_p=adaptive"],
     "data.augment_p=adaptive is steered by D"),
])
def test_inapplicable_ramps_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_config(make_config({}, overrides))


@pytest.mark.parametrize("override, message", [
    ("schedule.images=-1", "schedule.images must be >= 0"),
    ("schedule.shape=step", "schedule.shape must be one of cosine, linear"),
    ("schedule.lr_end=0", "schedule.lr_end must be positive"),
    ("schedule.beta2_end=1.0", "schedule.beta2_end must be in [0, 1)"),
    ("schedule.gamma_end=-0.1", "schedule.gamma_end must be >= 0"),
    ("schedule.ema_half_life=-5", "schedule.ema_half_life must be >= 0"),
    ("schedule.augment_p_end=1.5", "schedule.augment_p_end must be a probability"),
])
def test_out_of_range_values_are_refused(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_config({}, [override])


def test_a_horizon_beyond_the_run_is_warned_about():
    config = make_config({}, ["train.steps=100", "train.batch_size=10", "reg.r1=1", "schedule.images=4000",
                              "schedule.gamma_end=0.1"])
    (warning,) = [w for w in config_warnings(config) if w.startswith("schedule.images")]
    assert "run's 1,000 real images" in warning and "14.6% of the way" in warning  # (1 - cos(pi/4)) / 2
    shorter = make_config({}, ["train.steps=100", "train.batch_size=10", "reg.r1=1", "schedule.images=1000",
                               "schedule.gamma_end=0.1"])
    assert not [w for w in config_warnings(shorter) if w.startswith("schedule.images")]
