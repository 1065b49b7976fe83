"""What a model family is: a G and D pair, how to build them from the config, and what they support.

Family files (`mlp.py`, `dcgan.py`, ...) import this module and register themselves; nothing here imports
them, so imports point one way. Whether a config asks a family for something it cannot do is checked
above the registries (`ganforge.checks`), from what each family declares here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from ..registry import MODELS

ArgumentsFn = Callable[[ModelConfig, tuple[int, ...], int], tuple[dict, dict]]


@dataclass(frozen=True)
class ModelFamily:
    """A registered G and D pair and what it supports."""

    generator: type[nn.Module]
    discriminator: type[nn.Module]
    arguments: ArgumentsFn  # (model config, sample shape, classes) -> (generator kwargs, discriminator kwargs)
    doc: str
    g_norms: bool = False                              # G has norm layers: model.g_norm chooses them
                                                       # (`norms.G_NORMS`), and model.g_label may condition
                                                       # them (cbn)
    d_norms: tuple[str, ...] = ()                      # model.d_norm values, its default first; (): D has
                                                       # no norm to choose
    packing: bool = True                               # model.pack > 1 (PacGAN)
    minibatch_discrimination: bool = True              # model.mbd_kernels > 0
    options: tuple[str, ...] = ()                      # family-only model keys it reads (`FAMILY_OPTIONS`)
    growth_stages: Callable[[int], int] | None = None  # resolution -> stages of progressive growing; None:
                                                       # the family does not grow


def d_norm(config: ModelConfig, declared: tuple[str, ...]) -> str:
    """The D normalisation a family builds: `model.d_norm`, or its default (the first it declares)."""
    return config.d_norm or declared[0]


# model keys that only the families naming them in `ModelFamily.options` read
FAMILY_OPTIONS = ("depth", "halve_from", "mbstd_group")


@runtime_checkable
class Growable(Protocol):
    """What a growing G or D exposes to whoever trains it (Karras et al. 2017): its number of stages
    (4x4 upward) and where it is between them."""

    growth_stages: int

    def set_growth(self, stage: int, alpha: float) -> None: ...


def register_family(name: str, family: ModelFamily) -> None:
    unknown = set(family.options) - set(FAMILY_OPTIONS)
    if unknown:
        raise ValueError(f"model family {name!r} declares unknown options {sorted(unknown)}")
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
