"""Whether a config asks its parts for what they can do: the checks that need the registries.

`config` checks types and ranges on its own; this layer sits above it and above the parts it asks (model
families, losses, the speed switches), so imports point one way. `check_config` needs only the config and
runs before any data is loaded; `check_run` adds what depends on the data, the device and the number of
processes, and is the one place the engine refuses a run.

An option counts as asked for when the user wrote it (even at its default value: `model.mbstd_group=4`
on a DCGAN is refused, not ignored) or when it differs from the default.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import torch

from . import speed
from .augment import ADAPTIVE, POLICIES, policy_names
from .config import RunConfig, value_at
from .errors import ConfigError, DataError
from .losses import GanLoss
from .models import ModelFamily
from .models.discriminator import LABEL_MODES
from .models.family import FAMILY_OPTIONS
from .models.generator import G_LABEL_MODES
from .models.norms import G_NORMS
from .registry import LOSSES, MODELS
from .schedule import SHAPES

if TYPE_CHECKING:
    from .data import Dataset
    from .engine.distributed import World

_DEFAULTS = RunConfig()


def asked(config: RunConfig, dotted: str) -> bool:
    """Whether the config asks for option `dotted` (e.g. "model.mbstd_group"): written, or not the default."""
    return dotted in config.written or value_at(config, dotted) != value_at(_DEFAULTS, dotted)


def _choices(values: list[str]) -> str:
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def _refuse(config: RunConfig, key: str, supported: list[str]) -> ConfigError:
    value, family = value_at(config, f"model.{key}"), config.model.name
    if supported:
        return ConfigError(f"model.{key}={value} is not supported by model.name={family} (choose "
                           f"{_choices(supported)})")
    return ConfigError(f"model.{key}={value} does not apply to model.name={family} (it has no such option)")


def check_loss(config: RunConfig) -> GanLoss:
    """The loss `loss.name` names, after refusing label smoothing where it has no targets to smooth."""
    loss: GanLoss = LOSSES.get(config.loss.name)
    if not loss.smoothable and (asked(config, "loss.real_label") or asked(config, "loss.fake_label")):
        smoothable = [n for n in LOSSES.names() if LOSSES.get(n).smoothable]
        raise ConfigError(f"label smoothing changes the targets of a cross-entropy loss; loss.name="
                          f"{config.loss.name} has none (use {' or '.join(smoothable)})")
    return loss


def check_model(config: RunConfig) -> ModelFamily:
    """The family `model.name` names, after refusing every option it does not support."""
    family: ModelFamily = MODELS.get(config.model.name)
    m = config.model
    g_labels = [n for n, mode in G_LABEL_MODES.items() if family.g_norms or not mode.conditions_norm]
    for key, supported in (("g_label", g_labels), ("d_label", list(LABEL_MODES)),
                           ("g_norm", list(G_NORMS) if family.g_norms else []), ("d_norm", list(family.d_norms))):
        value = getattr(m, key)
        if key == "d_norm" and not value:  # "": the family's default
            continue
        if value not in supported and (supported or asked(config, f"model.{key}")):
            raise _refuse(config, key, supported)
    if G_LABEL_MODES[m.g_label].conditional != LABEL_MODES[m.d_label].judges_label:
        judging = [n for n, mode in LABEL_MODES.items() if mode.judges_label]
        raise ConfigError(f"model.g_label={m.g_label} needs a discriminator that judges the label: a "
                          f"class-conditional G goes with model.d_label {', '.join(judging)}, an unconditional "
                          f"one with any other (got d_label={m.d_label})")
    if not family.packing and asked(config, "model.pack"):
        raise _refuse(config, "pack", [])
    if m.pack > 1 and LABEL_MODES[m.d_label].conditional:
        raise ConfigError(f"model.pack={m.pack} packs unlabelled samples; it cannot be combined with "
                          f"model.d_label={m.d_label}")
    if not family.minibatch_discrimination and asked(config, "model.mbd_kernels"):
        raise _refuse(config, "mbd_kernels", [])
    for key in FAMILY_OPTIONS:
        if key not in family.options and asked(config, f"model.{key}"):
            readers = [n for n in MODELS.names() if key in MODELS.get(n).options]
            raise ConfigError(f"model.{key}={getattr(m, key)} does not apply to model.name={m.name} "
                              f"(only {', '.join(readers)} reads it)")
    return family


def _check_growth(config: RunConfig, family: ModelFamily) -> None:
    """Growing needs a growing family, schedules of the right length, and minibatch-stddev groups that
    divide every batch D sees in training (a last partial batch when sampling is split as it can be)."""
    growth, m = config.growth, config.model
    if growth.stable_images and family.growth_stages is None:
        growers = [n for n in MODELS.names() if MODELS.get(n).growth_stages is not None]
        raise ConfigError(f"progressive growing (growth.stable_images) needs a growing model: "
                          f"model.name={' or '.join(growers)}, got {m.name}")
    if growth.stable_images:
        stages, resolution = family.growth_stages(config.data.resolution), config.data.resolution
        for key, allowed in (("stable_images", stages), ("fade_images", stages - 1), ("batch_sizes", stages)):
            count = len(getattr(growth, key))
            if count not in (0, 1, allowed):
                raise ConfigError(f"growth.{key} needs 1 or {allowed} values for data.resolution={resolution} "
                                  f"(4x4 to {resolution}x{resolution}), got {count}")
    if "mbstd_group" in family.options and m.mbstd_group:
        where = "growth.batch_sizes" if growth.batch_sizes else "train.batch_size"
        for batch in growth.batch_sizes or [config.train.batch_size]:
            if (batch // m.pack) % m.mbstd_group:
                packed = f" ({batch // m.pack} after packing by model.pack={m.pack})" if m.pack > 1 else ""
                raise ConfigError(f"model.mbstd_group={m.mbstd_group} must divide every training batch D "
                                  f"sees; {where} has {batch}{packed}")


def _check_augment(config: RunConfig) -> None:
    """`data.augment` names known policies; `data.augment_p` only goes with it."""
    unknown = [name for name in policy_names(config.data.augment) if name not in POLICIES]
    if unknown:
        raise ConfigError(f"data.augment: unknown policy {unknown[0]!r} (choose a comma list of "
                          f"{', '.join(POLICIES)})")
    if not config.data.augment and asked(config, "data.augment_p"):
        raise ConfigError(f"data.augment_p={config.data.augment_p} applies to augmented images; data.augment "
                          f"is off (set it, e.g. data.augment={','.join(POLICIES)})")


_ENDS = ("lr_end", "beta2_end", "gamma_end", "augment_p_end")


def _check_schedule(config: RunConfig) -> None:
    """A ramp needs a horizon and something to ramp: the R1/R2 weights, an EMA set by nothing else, a fixed
    augmentation probability."""
    s = config.schedule
    ramps = [f"schedule.{name}" for name in _ENDS if getattr(s, name) is not None]
    ramps += ["schedule.ema_half_life"] if s.ema_half_life else []
    if not s.images:
        ramps += ["schedule.shape"] if asked(config, "schedule.shape") else []
        if ramps:
            raise ConfigError(f"{ramps[0]} needs schedule.images, the horizon in real images over which it "
                              f"ramps")
        return
    if not ramps:
        raise ConfigError(f"schedule.images={s.images} ramps nothing: set one of schedule."
                          f"{', schedule.'.join(_ENDS)} or schedule.ema_half_life")
    if s.gamma_end is not None and not (config.reg.r1 or config.reg.r2):
        raise ConfigError(f"schedule.gamma_end={s.gamma_end} ramps the R1/R2 weights, but reg.r1 and reg.r2 are 0 "
                          f"(set them to gamma's starting value)")
    if s.ema_half_life:
        for key in ("train.ema_decay", "train.ema_rampup"):
            if asked(config, key):
                raise ConfigError(f"schedule.ema_half_life keeps G's EMA by a ramped half-life; {key} "
                                  f"sets its decay otherwise (choose one)")
    if s.augment_p_end is not None:
        if not config.data.augment:
            raise ConfigError(f"schedule.augment_p_end={s.augment_p_end} ramps data.augment_p; data.augment "
                              f"is off (set it, e.g. data.augment={','.join(POLICIES)})")
        if config.data.augment_p == ADAPTIVE:
            raise ConfigError("schedule.augment_p_end ramps a fixed data.augment_p; data.augment_p=adaptive "
                              "is steered by D (choose one)")


def _check_ema_statistics(config: RunConfig, family: ModelFamily) -> None:
    """`train.ema_bn_batches` recomputes an EMA generator's batch-norm statistics: it needs both."""
    if not asked(config, "train.ema_bn_batches"):
        return
    value = config.train.ema_bn_batches
    if not (config.train.ema_decay or config.schedule.ema_half_life):
        raise ConfigError(f"train.ema_bn_batches={value} recomputes the EMA generator's batch-norm statistics; "
                          f"no EMA is kept (set train.ema_decay, e.g. 0.999)")
    if not (family.g_norms and config.model.g_norm == "batch"):
        norm = f"model.g_norm={config.model.g_norm}" if family.g_norms else f"model.name={config.model.name}"
        raise ConfigError(f"train.ema_bn_batches={value} recomputes batch-norm running statistics; the generator "
                          f"of {norm} keeps none")


def _check_mode_seeking(config: RunConfig) -> None:
    """`loss.mode_seeking` compares the samples (2i, 2i+1) of each batch, so every batch splits into pairs."""
    if not config.loss.mode_seeking:
        return
    batches, where = _batch_sizes(config)
    odd = [batch for batch in batches if batch % 2]
    if odd:
        raise ConfigError(f"loss.mode_seeking={config.loss.mode_seeking} compares samples in pairs; {where} "
                          f"({', '.join(map(str, odd))}) must be even")


def check_config(config: RunConfig) -> None:
    """Refuse what the chosen loss and model family cannot do with the rest of the run."""
    check_loss(config)
    family = check_model(config)
    _check_growth(config, family)
    _check_ema_statistics(config, family)
    _check_mode_seeking(config)
    _check_augment(config)
    _check_schedule(config)


def config_warnings(config: RunConfig) -> list[str]:
    """Settings that are allowed but known to hurt, each with the reason."""
    warnings = []
    if config.loss.fake_label > 0:
        warnings.append(
            f"loss.fake_label={config.loss.fake_label} smooths the fake targets: the optimal discriminator "
            f"becomes D*(x) = (a p_data(x) + b p_model(x)) / (p_data(x) + p_model(x)) with b > 0, which stays "
            f"at b where only the generator puts mass, so samples far from the data are not pushed back "
            f"(Goodfellow 2016, section 4.2); smooth only the real targets (loss.real_label)")
    declared = MODELS.get(config.model.name).d_norms
    if (config.reg.gp or config.reg.r1 or config.reg.r2) and declared \
            and (config.model.d_norm or declared[0]) == "batch":
        warnings.append(
            "a gradient penalty with batch norm in D: each sample's gradient then depends on the rest of its "
            "batch, so the penalty no longer constrains D per sample (Gulrajani et al. 2017, section 4); set "
            "model.d_norm=none")
    loss: GanLoss = LOSSES.get(config.loss.name)
    if loss.needs_lipschitz and not (config.reg.gp or config.reg.clip or config.model.d_sn):
        warnings.append(
            f"loss.name={config.loss.name} without a Lipschitz constraint: the critic's outputs can grow "
            f"without bound; set reg.gp=10, reg.clip=0.01 or model.d_sn=true")
    if config.train.ema_rampup and not config.train.ema_decay:
        warnings.append("train.ema_rampup has no effect with train.ema_decay=0 (no EMA is kept)")
    s, t = config.schedule, config.train
    run_images = t.steps * t.batch_size * t.n_dis
    if s.images > run_images and not config.growth.stable_images:
        moved = SHAPES[s.shape](run_images / s.images)
        warnings.append(f"schedule.images={s.images:,} is more than the run's {run_images:,} real images "
                        f"(train.steps x batch_size x n_dis): its ramps stop {moved:.1%} of the way to their "
                        f"end values")
    return warnings


def _batch_sizes(config: RunConfig) -> tuple[list[int], str]:
    """Every global batch size the run trains with, and the key that sets them."""
    if config.growth.batch_sizes:
        return list(config.growth.batch_sizes), "growth.batch_sizes"
    return [config.train.batch_size], "train.batch_size"


def check_run(config: RunConfig, dataset: Dataset, device: torch.device, world: World) -> None:
    """Everything `check_config` checks, plus what depends on this run's data, device and processes: speed
    switches the device lacks, image-only switches on point data, a dataset smaller than a batch, and
    per-process batch shares that a batch-dependent layer cannot take."""
    check_config(config)
    for key, table in speed.SWITCHES.items():
        value = value_at(config, key)
        if table[value].cuda_only and device.type != "cuda":
            others = [v for v, switch in table.items() if not switch.cuda_only]
            raise ConfigError(f"{key}={value} ({table[value].doc}) needs CUDA; on {device.type} use "
                              f"{', '.join(others)}")
    if not dataset.is_image:
        if config.train.channels_last:
            raise ConfigError("train.channels_last is a memory format of image batches; this dataset has none")
        if config.data.mirror:
            raise ConfigError(f"data.mirror flips images left to right; data.name={config.data.name} has no "
                              f"images")
        if config.data.augment:
            raise ConfigError(f"data.augment transforms images; data.name={config.data.name} has none")
    batches, where = _batch_sizes(config)
    if len(dataset) < max(batches):
        raise DataError(f"the dataset has {len(dataset)} samples, fewer than one batch of {max(batches)}; "
                        f"add data or lower {where}")
    shares = [world.split(batch, where) for batch in batches]
    if world.size == 1:
        return
    for share in shares:
        if share % config.model.pack:
            raise ConfigError(f"each of the {world.size} processes trains on {share} samples of the global "
                              f"batch, not a multiple of model.pack ({config.model.pack})")
    per_rank = dataclasses.replace(
        config, train=dataclasses.replace(config.train, batch_size=shares[0]),
        growth=dataclasses.replace(config.growth, batch_sizes=shares if config.growth.batch_sizes else []))
    try:
        check_config(per_rank)
    except ConfigError as exc:
        raise ConfigError(f"each of the {world.size} processes trains on its share of the global batch: "
                          f"{exc}") from None
