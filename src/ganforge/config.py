"""Typed run configuration: dataclasses with commented defaults, YAML presets and dotted overrides.

A preset holds only what differs from the defaults below. Unknown keys and values of the wrong type are
rejected with a `ConfigError` naming the key, so a typo never silently trains the wrong model.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Union

import yaml

from .errors import ConfigError
from .schedule import SHAPES
from .speed import SWITCHES


@dataclass
class DataConfig:
    name: str = "ring"              # a registered dataset (`ganforge list`)
    root: str | None = None         # file or folder holding the data; None: the dataset's usual place
    split: str = "train"            # "train" or "test" where the data has official splits
    resolution: int = 32            # images are padded (28 -> 32) or resized to this square size
    channels: int | None = None     # None keeps the data's own; 1 or 3 converts (image folders)
    mirror: bool = False            # flip a random half of the real images left to right each epoch (NVIDIA's
                                    # PGGAN/StyleGAN `mirror_augment`); for data with no preferred side
    augment: str = ""               # DiffAugment (Zhao et al. 2020) policies before D, real and fake alike: a
                                    # comma list of color, translation, cutout; "" turns it off
    augment_p: float | str = 1.0    # probability each image is augmented; adaptive: ADA's (Karras et al. 2020),
                                    # from 0, steered by D's overfitting (r_t = E[sign D(real)] -> 0.6)
    fraction: float = 1.0           # share of the data used: a draw seeded by `seed` (0.1 = a 10% small-data run)
    num_samples: int = 100_000      # toy and stacked data: samples drawn once, with `seed` (PacGAN's stacked
                                    # MNIST: 128,000)
    seed: int = 0                   # seeds the toy draw and data.fraction's share, so runs compare on equal data
    modes: int = 8                  # ring: Gaussians equally spaced on the circle
    radius: float = 1.0             # ring: radius of the circle
    grid_size: int = 5              # grid: modes per side (5 -> 25 modes)
    grid_spacing: float = 2.0       # grid: distance between neighbouring means ({-4,-2,0,2,4}^2)
    std: float | None = None        # toy: std of each mode; None: ring 0.01, grid 0.05 (PacGAN), 1-D 0.5
    mean: float = 4.0               # gaussian1d: mean of the data distribution


@dataclass
class ModelConfig:
    name: str = "mlp"               # a registered model family (`ganforge list`)
    z_dim: int = 64                 # latent size; z ~ N(0, I)
    g_channels: int = 64            # G width: MLP units per layer, DCGAN channels at the last conv
    d_channels: int = 64            # D width: MLP units per layer, DCGAN channels at the first conv
    depth: int = 3                  # MLP: hidden layers in each network
    g_label: str = "none"           # class-conditional G: none, concat (one-hot joined to z), cbn (conditional
                                    # batch norm: per-class scale and shift, DCGAN)
    d_label: str = "none"           # how D uses labels: none, concat (Mirza & Osindero), acgan (Odena et al.),
                                    # projection (Miyato & Koyama), classes (K real classes + fake, Salimans et al.)
    g_norm: str = "batch"           # DCGAN G's normalisation: batch, reference or virtual (Salimans et al. 2016)
    reference_size: int = 64        # reference/virtual batch norm: size of the fixed reference batch
    pack: int = 1                   # PacGAN (Lin et al. 2018): D judges this many samples at once
    mbd_kernels: int = 0            # minibatch discrimination (Salimans et al. 2016): kernels B; 0 turns it off
    mbd_dim: int = 5                # minibatch discrimination: dimension C of each kernel
    d_norm: str = ""                # D's normalisation after its hidden convolutions, as the family declares
                                    # (`ganforge list`); "": the family's default (dcgan batch, sngan none)
                                    # (none for gradient penalties, whose per-sample gradients BN would mix)
    d_sn: bool = False              # spectral normalisation (Miyato et al. 2018) of every D conv/linear layer
    g_sn: bool = False              # the same for G (Zhang et al. 2019's SAGAN does both)
    sn_iterations: int = 1          # power iterations per forward pass of each normalised layer
    mbstd_group: int = 4            # pggan D: minibatch standard deviation group size; 0 removes the layer
    halve_from: int = 32            # pggan: channels are g/d_channels up to this resolution, then halve per
                                    # doubling (Karras et al.: 512 channels up to 32x32)


@dataclass
class LossConfig:
    name: str = "ns"                # a registered loss: ns, minimax, hinge, wasserstein, lsgan
    real_label: float = 1.0         # D's target on real data (ns, minimax); 0.9 = one-sided label smoothing
    fake_label: float = 0.0         # D's target on samples; keep 0 (smoothing it is warned against)
    feature_matching: bool = False  # G matches D's mean last hidden features on real data instead of fooling D
    aux_weight: float = 1.0         # weight of the class losses of acgan and classes discriminators
    mode_seeking: float = 0.0       # MSGAN (Mao et al. 2019): G's loss plus this times 1 / (d_img / d_z + 1e-5)
                                    # over pairs of samples that share a label; 0 off (MSGAN: 1)


@dataclass
class RegConfig:
    drift: float = 0.0              # PGGAN's drift term: this times E[D(x)^2] on real data (Karras et al.: 1e-3)
    gp: float = 0.0                 # WGAN-GP gradient penalty weight lambda (Gulrajani et al. 2017 use 10)
    r1: float = 0.0                 # R1 penalty weight gamma on real data (Mescheder et al. 2018): gamma/2 E|grad|^2
    r2: float = 0.0                 # R2: the same on generated samples (Huang et al. 2024 use R1 and R2 together)
    every: int = 1                  # lazy regularisation: penalties every this many D steps, weight times this
    clip: float = 0.0               # WGAN weight clipping: D's parameters to [-clip, clip] after each step; 0 off


@dataclass
class GrowthConfig:
    """Progressive growing (Karras et al. 2017), for growing model families (pggan). A list holds one value
    per resolution from 4x4 up, or a single value for all of them."""

    stable_images: list[int] = field(default_factory=list)  # real images shown per stabilising phase; [] = no
                                                            # growing (train at the full resolution throughout)
    fade_images: list[int] = field(default_factory=list)    # per fade-in phase (alpha 0 -> 1), for 8x8 upward;
                                                            # [] = the same as stable_images
    batch_sizes: list[int] = field(default_factory=list)    # per resolution; [] = train.batch_size throughout


@dataclass
class ScheduleConfig:
    """Ramps over the first `images` real images D sees (Huang et al. 2024's R3GAN), each from its configured
    value to the end value here, then held; an end left null (EMA: 0) ramps nothing. Off by default."""

    images: int = 0                     # horizon T in real images (the clock of growth.*); 0: no schedule
    shape: str = "cosine"               # cosine: start + (end - start) (1 - cos(pi t/T)) / 2, as R3GAN; linear
    lr_end: float | None = None         # Adam lr of G and D, each from optim.g/d.lr (R3GAN: 2e-4 -> 5e-5)
    beta2_end: float | None = None      # Adam beta2 of G and D, each from optim.g/d.beta2 (R3GAN: 0.9 -> 0.99)
    gamma_end: float | None = None      # reg.r1 and reg.r2, each that is on, from its value (R3GAN CIFAR-10:
                                        # 0.05 -> 0.005)
    ema_half_life: float = 0.0          # G's EMA half-life in real images at the end, ramped from 0; each step's
                                        # decay is 0.5 ** (its images / half-life) (R3GAN CIFAR-10: 5M); 0: none
    augment_p_end: float | None = None  # data.augment_p, from its value (R3GAN CIFAR-10: 0 -> 0.55)


@dataclass
class AdamConfig:
    lr: float = 2e-4                # DCGAN paper's value
    beta1: float = 0.5              # DCGAN paper: 0.5 instead of 0.9 stabilises training
    beta2: float = 0.999


@dataclass
class OptimConfig:
    g: AdamConfig = field(default_factory=AdamConfig)
    d: AdamConfig = field(default_factory=AdamConfig)
    impl: str = "auto"              # Adam's kernels: "auto" (torch's choice), "loop", "foreach" or "fused"


@dataclass
class TrainConfig:
    steps: int = 5000               # generator steps
    time_limit: float = 0.0         # stop early after this many wall-clock seconds (0: no limit)
    batch_size: int = 64
    n_dis: int = 1                  # discriminator steps per generator step (k in Goodfellow et al.)
    unroll: int = 0                 # unrolled GAN (Metz et al. 2016): G's loss through this many look-ahead
                                    # D updates, differentiated through; 0 turns it off
    ema_decay: float = 0.0          # EMA of G's weights; 0 turns it off (0.999 is usual)
    ema_rampup: bool = False        # decay min(ema_decay, (1+t)/(10+t)) at step t, so short runs get a usable EMA
    ema_bn_batches: int = 0         # the EMA generator's batch-norm statistics recomputed from this many batches
                                    # of its own latents before each picture, evaluation and checkpoint
                                    # (BigGAN's standing statistics); 0 copies the live G's
    log_every: int = 50             # steps between JSONL/TensorBoard records
    sample_every: int = 500         # steps between sample pictures from a fixed latent batch
    ckpt_every: int = 1000          # steps between checkpoints (one is always written at the end)
    n_grid: int = 64                # samples in each picture
    device: str = "auto"            # "auto" (CUDA when present), "cpu", "cuda", "cuda:1", ...
    amp: str | bool = "none"        # autocast: "none", "bf16" or "fp16" (with a gradient scaler per player);
                                    # true/false of older configs read as bf16/none
    channels_last: bool = False     # NHWC memory format for image networks and batches
    compile: str = "none"           # torch.compile of G and D: "none", "default", "max-autotune-no-cudagraphs",
                                    # "reduce-overhead" (CUDA graphs, CUDA only)
    sync_bn: bool = False           # distributed on CUDA: batch norms take statistics over the global batch
                                    # (SyncBatchNorm); false: each rank normalises its own share, and rank 0's
                                    # running statistics are copied to the others after every step
    tensorboard: bool = True        # also write TensorBoard events when tensorboard is installed
    progress: bool = True           # progress bar on the terminal

    def __post_init__(self) -> None:
        if isinstance(self.amp, bool):  # run directories written before amp took a precision
            self.amp = "bf16" if self.amp else "none"


@dataclass
class EvalConfig:
    every: int = 0                  # steps between evaluations during training; 0 turns them off
    metrics: str = ""               # comma-separated metric names (`ganforge list`); "" = all for the data
    n: int = 2000                   # generated (and real) samples per evaluation during training
    best: str = ""                  # keep `best.pt` by this result key, e.g. fd_fmnist; "" keeps none


@dataclass
class RunConfig:
    seed: int = 0                   # seeds weights, latents and batch order
    out_dir: str = "runs"           # run directories are created below this
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    reg: RegConfig = field(default_factory=RegConfig)
    growth: GrowthConfig = field(default_factory=GrowthConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    # the dotted keys the user wrote (YAML and overrides), so an option written at its default value still
    # counts as asked for (`checks.asked`); not part of the config itself, never dumped
    written: frozenset = field(default=frozenset(), repr=False, compare=False, metadata={"internal": True})


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal")]


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint).replace("typing.", ""))


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check `value` against a field's type, allowing int -> float and None for optional fields."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, key)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is list:  # a single value stands for a list of one
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            return [_coerce(value, item, key)]
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r} must be a mapping, got {value!r}")
        return _build(hint, value, key + ".")
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(f"unsupported config type {hint!r} for {key}")
    raise ConfigError(f"config key {key!r} must be {_type_name(hint)}, got {value!r}")


def _build(cls: type, values: dict, prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = _fields(cls)
    kwargs = {}
    for key, value in values.items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {prefix + close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown config key {prefix + str(key)!r}{hint}")
        kwargs[key] = _coerce(value, hints[key], prefix + key)
    return cls(**kwargs)


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key {dotted!r}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """Split `a.b=value`; the value is read as YAML so `1e-3`, `true` and `null` get their types."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value, e.g. train.steps=2000")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config file {str(path)!r} is not valid YAML{where}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping of sections")
    return tree


def _leaf_keys(tree: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        keys |= _leaf_keys(value, dotted + ".") if isinstance(value, dict) else {dotted}
    return keys


_LATER_SECTIONS = {"schedule"}  # sections added after resolved configs were first written


def is_resolved(tree: dict) -> bool:
    """Whether `tree` names every section, as the resolved configs ganforge writes do (`config.yaml`, a
    checkpoint's config). Such a tree names keys because it names all of them, so naming asks for nothing.
    Sections added since resolved configs were first written (`_LATER_SECTIONS`) may be missing from one."""
    return set(_fields(RunConfig)) - _LATER_SECTIONS <= set(tree)


def make_config(tree: dict | None = None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Build and validate a `RunConfig` from a nested dict and `key=value` overrides, remembering which keys
    were written (every override, and the tree's keys unless it is a resolved config)."""
    tree = dict(tree or {})
    tree = yaml.safe_load(yaml.safe_dump(tree))  # deep copy through plain types
    written = set() if is_resolved(tree) else _leaf_keys(tree)
    for text in overrides:
        key, value = parse_override(text)
        _set_dotted(tree, key, value)
        written.add(key)
    config = _build(RunConfig, tree)
    config.written = frozenset(written)
    validate(config)
    return config


def preset_path(name: str | Path) -> Path:
    """A config file path, or the name of a preset shipped with ganforge (`toy_ring`, `dcgan_fashion`...)."""
    path = Path(name)
    if path.exists() or path.parent != Path("."):
        return path
    bundled = Path(str(resources.files("ganforge") / "configs" / f"{path.stem}.yaml"))
    return bundled if bundled.is_file() else path


def load_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a YAML file or shipped preset by name (only defaults when `path` is None) and apply `overrides`
    (`["train.steps=2000", "model.name=dcgan"]`)."""
    return make_config(load_yaml(preset_path(path)) if path else {}, overrides)


def value_at(config: Any, dotted: str) -> Any:
    """The value of a dotted key (`"train.amp"`) in a config or one of its sections."""
    for part in dotted.split("."):
        config = getattr(config, part)
    return config


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def validate(config: RunConfig) -> None:
    """Value checks that types alone cannot express. Whether the chosen parts (model family, loss) support
    what the config asks of them is checked above them, in `ganforge.checks`."""
    t = config.train
    for name in ("steps", "batch_size", "n_dis", "log_every", "sample_every", "ckpt_every", "n_grid"):
        _require(getattr(t, name) > 0, f"train.{name} must be positive, got {getattr(t, name)}")
    _require(t.time_limit >= 0, f"train.time_limit must be >= 0, got {t.time_limit}")
    _require(0.0 <= t.ema_decay < 1.0, f"train.ema_decay must be in [0, 1), got {t.ema_decay}")
    _require(t.ema_bn_batches >= 0, f"train.ema_bn_batches must be >= 0, got {t.ema_bn_batches}")
    for key, table in SWITCHES.items():
        value = value_at(config, key)
        _require(value in table, f"{key} must be one of {', '.join(table)}, got {value!r}")
    _require(config.eval.every >= 0, f"eval.every must be >= 0, got {config.eval.every}")
    _require(config.eval.n >= 2, f"eval.n must be >= 2, got {config.eval.n}")
    d = config.data
    _require(d.split in ("train", "test"), f"data.split must be 'train' or 'test', got {d.split!r}")
    _require(d.resolution >= 4 and d.resolution & (d.resolution - 1) == 0,
             f"data.resolution must be a power of two >= 4, got {d.resolution}")
    _require(d.channels in (None, 1, 3), f"data.channels must be 1, 3 or null, got {d.channels}")
    _require(d.num_samples > 0, f"data.num_samples must be positive, got {d.num_samples}")
    _require(0.0 < d.fraction <= 1.0, f"data.fraction must be in (0, 1], got {d.fraction}")
    _require(d.std is None or d.std > 0, f"data.std must be positive, got {d.std}")
    _require(d.augment_p == "adaptive" if isinstance(d.augment_p, str) else 0.0 <= d.augment_p <= 1.0,
             f"data.augment_p must be a probability in [0, 1] or adaptive, got {d.augment_p!r}")
    m = config.model
    for name in ("z_dim", "g_channels", "d_channels", "depth"):
        _require(getattr(m, name) > 0, f"model.{name} must be positive, got {getattr(m, name)}")
    for net in ("g", "d"):
        adam: AdamConfig = getattr(config.optim, net)
        _require(adam.lr > 0, f"optim.{net}.lr must be positive, got {adam.lr}")
        for beta in ("beta1", "beta2"):
            value = getattr(adam, beta)
            _require(0.0 <= value < 1.0, f"optim.{net}.{beta} must be in [0, 1), got {value}")
    _validate_tricks(config)
    _validate_schedule(config.schedule)


def _validate_tricks(config: RunConfig) -> None:
    """Checks of the switches of Goodfellow's tutorial and Salimans et al. that span several sections."""
    m, loss = config.model, config.loss
    for name in ("reference_size", "pack", "mbd_dim"):
        _require(getattr(m, name) > 0, f"model.{name} must be positive, got {getattr(m, name)}")
    _require(m.mbd_kernels >= 0, f"model.mbd_kernels must be >= 0, got {m.mbd_kernels}")
    _require(config.train.batch_size % m.pack == 0,
             f"train.batch_size ({config.train.batch_size}) must be a multiple of model.pack ({m.pack})")
    _require(0.0 < loss.real_label <= 1.0, f"loss.real_label must be in (0, 1], got {loss.real_label}")
    _require(0.0 <= loss.fake_label < loss.real_label,
             f"loss.fake_label must be in [0, loss.real_label), got {loss.fake_label}")
    _require(loss.aux_weight >= 0, f"loss.aux_weight must be >= 0, got {loss.aux_weight}")
    _require(loss.mode_seeking >= 0, f"loss.mode_seeking must be >= 0, got {loss.mode_seeking}")
    _require(m.halve_from >= 4 and m.halve_from & (m.halve_from - 1) == 0,
             f"model.halve_from must be a power of two >= 4, got {m.halve_from}")
    _require(m.mbstd_group >= 0, f"model.mbstd_group must be >= 0, got {m.mbstd_group}")
    _require(m.sn_iterations > 0, f"model.sn_iterations must be positive, got {m.sn_iterations}")
    reg = config.reg
    for name in ("drift", "gp", "r1", "r2", "clip"):
        _require(getattr(reg, name) >= 0, f"reg.{name} must be >= 0, got {getattr(reg, name)}")
    _require(reg.every > 0, f"reg.every must be positive, got {reg.every}")
    _validate_growth(config)
    _require(config.train.unroll >= 0, f"train.unroll must be >= 0, got {config.train.unroll}")
    _require(not (config.train.unroll and loss.feature_matching),
             "train.unroll and loss.feature_matching both replace G's loss; choose one")


def _validate_growth(config: RunConfig) -> None:
    g = config.growth
    for name in ("stable_images", "fade_images", "batch_sizes"):
        values = getattr(g, name)
        _require(all(v > 0 for v in values), f"growth.{name} must hold positive numbers, got {values}")
    _require(bool(g.stable_images) or not (g.fade_images or g.batch_sizes),
             "growth.fade_images and growth.batch_sizes need growth.stable_images (the growing schedule)")
    pack = config.model.pack
    _require(all(v % pack == 0 for v in g.batch_sizes),
             f"growth.batch_sizes {g.batch_sizes} must all be multiples of model.pack ({pack})")


def _validate_schedule(s: ScheduleConfig) -> None:
    _require(s.images >= 0, f"schedule.images must be >= 0, got {s.images}")
    _require(s.shape in SHAPES, f"schedule.shape must be one of {', '.join(SHAPES)}, got {s.shape!r}")
    _require(s.lr_end is None or s.lr_end > 0, f"schedule.lr_end must be positive, got {s.lr_end}")
    _require(s.beta2_end is None or 0.0 <= s.beta2_end < 1.0,
             f"schedule.beta2_end must be in [0, 1), got {s.beta2_end}")
    _require(s.gamma_end is None or s.gamma_end >= 0, f"schedule.gamma_end must be >= 0, got {s.gamma_end}")
    _require(s.ema_half_life >= 0, f"schedule.ema_half_life must be >= 0, got {s.ema_half_life}")
    _require(s.augment_p_end is None or 0.0 <= s.augment_p_end <= 1.0,
             f"schedule.augment_p_end must be a probability in [0, 1], got {s.augment_p_end}")


def to_dict(config: RunConfig) -> dict:
    tree = dataclasses.asdict(config)
    del tree["written"]
    return tree


def dump_yaml(config: RunConfig) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False)
