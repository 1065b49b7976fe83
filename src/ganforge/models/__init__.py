"""Model families: a generator and a discriminator built together from the config and the data's shape.

A family records the constructor arguments it used, so a checkpoint can rebuild its networks without the
original config (see `build_models` and `rebuild`). It also declares which of the model options it
supports (`ModelFamily`); `check_config` refuses a config asking a family for anything else, so no list of
family names lives outside the family's own file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol, runtime_checkable

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from ..registry import MODELS
from .discriminator import LABEL_MODES
from .spectral import apply_spectral_norm

if TYPE_CHECKING:
    from ..config import RunConfig

ArgumentsFn = Callable[[ModelConfig, tuple[int, ...], int], tuple[dict, dict]]
G_NORMS = ("batch", "reference", "virtual")  # what `norms.make_norm` builds, for families with G norm layers


@dataclass(frozen=True)
class ModelFamily:
    """A registered G and D pair and what it supports. A config asking for an unsupported option is
    refused by `check_config`; an option left at its default is not asking."""

    generator: type[nn.Module]
    discriminator: type[nn.Module]
    arguments: ArgumentsFn  # (model config, sample shape, classes) -> (generator kwargs, discriminator kwargs)
    doc: str
    g_labels: tuple[str, ...] = ("none", "concat")    # model.g_label values (cbn needs G norm layers)
    d_labels: tuple[str, ...] = tuple(LABEL_MODES)     # model.d_label values (`discriminator.LABEL_MODES`)
    g_norms: tuple[str, ...] = ()                      # model.g_norm values; (): G has no norm to choose
    d_norms: tuple[str, ...] = ()                      # model.d_norm values; (): D has no norm to choose
    packing: bool = True                               # model.pack > 1 (PacGAN)
    minibatch_discrimination: bool = True              # model.mbd_kernels > 0
    options: tuple[str, ...] = ()                      # family-only model keys it reads (depth, halve_from,
                                                       # mbstd_group: minibatch stddev)
    growth_stages: Callable[[int], int] | None = None  # resolution -> stages of progressive growing; None:
                                                       # the family does not grow


@runtime_checkable
class Growable(Protocol):
    """What a growing G or D exposes to whoever trains it (Karras et al. 2017): its number of stages
    (4x4 upward) and where it is between them."""

    growth_stages: int

    def set_growth(self, stage: int, alpha: float) -> None: ...


def register_family(name: str, family: ModelFamily) -> None:
    MODELS.register(name, help=family.doc)(family)


def shape_error(family: str, shape: tuple[int, ...], expected: str) -> ConfigError:
    return ConfigError(f"model {family!r} cannot take data of shape {list(shape)}: it expects {expected}")


def image_arguments(family: str, config: ModelConfig, sample_shape: tuple[int, ...], num_classes: int,
                    min_resolution: int = 8) -> tuple[dict, dict]:
    """Constructor arguments of the convolutional families: (G kwargs, D kwargs) for square images."""
    if len(sample_shape) != 3 or sample_shape[1] != sample_shape[2] or sample_shape[1] < min_resolution:
        raise shape_error(family, sample_shape, f"square images [C, R, R] with R >= {min_resolution}")
    channels, resolution, _ = sample_shape
    return (
        {"z_dim": config.z_dim, "resolution": resolution, "channels": channels, "width": config.g_channels,
         "num_classes": num_classes, "label": config.g_label, "norm": config.g_norm,
         "reference_size": config.reference_size},
        {"resolution": resolution, "channels": channels, "width": config.d_channels, "num_classes": num_classes,
         "label": config.d_label, "pack": config.pack, "mbd_kernels": config.mbd_kernels,
         "mbd_dim": config.mbd_dim},
    )


_DEFAULTS = ModelConfig()
# the keys that only some families read, each asked for by a value other than its default
_FAMILY_OPTIONS = ("depth", "halve_from", "mbstd_group")


def _refuse(family: str, key: str, value: object, supported: tuple[str, ...]) -> ConfigError:
    if supported:
        return ConfigError(f"model.{key}={value} is not supported by model.name={family} (choose "
                           f"{', '.join(supported[:-1])} or {supported[-1]})")
    return ConfigError(f"model.{key}={value} does not apply to model.name={family} (it has no such option)")


def check_options(config: ModelConfig) -> ModelFamily:
    """The family `config.name` names, after refusing every option it does not support."""
    family: ModelFamily = MODELS.get(config.name)
    name = config.name
    for key, supported in (("g_label", family.g_labels), ("d_label", family.d_labels),
                           ("g_norm", family.g_norms), ("d_norm", family.d_norms)):
        value = getattr(config, key)
        if value not in supported and (supported or value != getattr(_DEFAULTS, key)):
            raise _refuse(name, key, value, supported)
    mode = LABEL_MODES[config.d_label]
    if (config.g_label != "none") != mode.judges_label:
        judging = [n for n, m in LABEL_MODES.items() if m.judges_label]
        raise ConfigError(f"model.g_label={config.g_label} needs a discriminator that judges the label: a "
                          f"class-conditional G goes with model.d_label {', '.join(judging)}, an unconditional "
                          f"one with any other (got d_label={config.d_label})")
    if config.pack > 1 and not family.packing:
        raise _refuse(name, "pack", config.pack, ())
    if config.pack > 1 and config.d_label != "none":
        raise ConfigError(f"model.pack={config.pack} packs unlabelled samples; it cannot be combined with "
                          f"model.d_label={config.d_label}")
    if config.mbd_kernels and not family.minibatch_discrimination:
        raise _refuse(name, "mbd_kernels", config.mbd_kernels, ())
    for key in _FAMILY_OPTIONS:
        if key not in family.options and getattr(config, key) != getattr(_DEFAULTS, key):
            readers = [n for n in MODELS.names() if key in MODELS.get(n).options]
            raise ConfigError(f"model.{key}={getattr(config, key)} does not apply to model.name={name} "
                              f"(only {', '.join(readers)} reads it)")
    return family


def check_config(config: RunConfig) -> None:
    """Refuse what the chosen model family cannot do with the rest of the run: the options it does not
    support, growing when it does not grow, and a minibatch-stddev group that does not divide the batches
    its D sees in training (a last partial batch when sampling or evaluating is still split as it can be)."""
    family = check_options(config.model)
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


def growth_stages(net: nn.Module) -> int:
    """Stages of a growing network; 0 for one that does not grow."""
    return net.growth_stages if isinstance(net, Growable) else 0


def build_models(config: ModelConfig, sample_shape: tuple[int, ...],
                 num_classes: int = 0) -> tuple[nn.Module, nn.Module, dict]:
    """Build G and D for data of `sample_shape` (`[C, H, W]` or `[D]`) with `num_classes` labels (0: the data
    is unlabelled); returns them and their spec."""
    check_options(config)
    uses_labels = config.g_label != "none" or config.d_label != "none"
    if uses_labels and num_classes < 2:
        raise ConfigError(f"model.g_label={config.g_label} / model.d_label={config.d_label} need labelled data, "
                          f"but the dataset has {num_classes} classes")
    family: ModelFamily = MODELS.get(config.name)
    g_kwargs, d_kwargs = family.arguments(config, sample_shape, num_classes)
    spec = {"family": config.name, "generator": g_kwargs, "discriminator": d_kwargs}
    normalised = {part: config.sn_iterations for part, on in (("generator", config.g_sn),
                                                                ("discriminator", config.d_sn)) if on}
    if normalised:  # only then, so checkpoints from before spectral norm existed keep their spec
        spec["spectral_norm"] = normalised
    return rebuild(spec, "generator"), rebuild(spec, "discriminator"), spec


def rebuild(spec: dict, part: str) -> nn.Module:
    """Rebuild the `part` ("generator" or "discriminator") recorded in a checkpoint's model spec, spectral
    normalisation included."""
    family: ModelFamily = MODELS.get(spec["family"])
    cls = family.generator if part == "generator" else family.discriminator
    try:
        net = cls(**spec[part])
    except TypeError as exc:
        raise ConfigError(f"cannot rebuild {spec['family']} {part}: {exc}") from None
    iterations = spec.get("spectral_norm", {}).get(part, 0)
    return apply_spectral_norm(net, iterations, embeddings=part == "discriminator") if iterations else net


def class_count(G: nn.Module) -> int:
    """Classes a generator is conditioned on; 0 for an unconditional one."""
    return int(getattr(G, "num_classes", 0))


def balanced_labels(G: nn.Module, n: int, start: int = 0) -> torch.Tensor | None:
    """Labels `start, start+1, ...` modulo the class count: every class equally often (None if unconditional)."""
    classes = class_count(G)
    return (torch.arange(start, start + n) % classes) if classes else None


def discriminator_probability(D: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """x `[M, 1]` -> sigmoid(D(x)) `[M]` on the CPU, in eval mode: D(x) read as a probability, as in
    Goodfellow et al.'s 1-D figure."""
    device = next(D.parameters()).device

    @torch.no_grad()
    def probability(x: torch.Tensor) -> torch.Tensor:
        was_training = D.training
        D.eval()
        p = torch.sigmoid(D(torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1).to(device))).cpu()
        D.train(was_training)
        return p

    return probability


from . import mlp, dcgan, sngan, resnet, pggan  # noqa: E402,F401  (registration)
