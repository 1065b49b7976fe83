"""The unconditional DCGAN on Fashion-MNIST that the DCGAN paper's reproductions study, trained once.

`dcgan-features` reads its discriminator and `dcgan-latent` its generator. Each trains the run it needs in
its own output folder through `runner.train`; when both run in one process the second reuses the first's
run (same config), and rerunning into a folder that already holds the finished run reuses it too.
"""
from __future__ import annotations

import shutil
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from ..config import DataConfig, RunConfig, dump_yaml, load_config
from ..data import Dataset, build_dataset
from ..engine.checkpoint import load_checkpoint, load_state
from ..engine.loop import CHECKPOINT
from ..models import rebuild
from ..runner import train
from .base import DIFFERS, NOT_STATED, SAME, UNKNOWN, Setting

FULL_STEPS = 5000           # the dcgan_fashion preset's own length
QUICK_STEPS = 20
# quick: a narrow DCGAN (16 channels where the preset has 64) for a few dozen steps, for the tests
QUICK_OVERRIDES = ("model.g_channels=16", "model.d_channels=16", "train.batch_size=32")
_TRAINED: dict[str, Path] = {}


def dcgan_config(quick: bool, seed: int = 0) -> RunConfig:
    """The shipped `dcgan_fashion` preset (the paper's architecture and Adam settings), FULL_STEPS long."""
    preset = Path(str(resources.files("ganforge") / "configs" / "dcgan_fashion.yaml"))
    overrides = [f"seed={seed}", f"train.steps={QUICK_STEPS if quick else FULL_STEPS}", "train.progress=false",
                 "train.tensorboard=false", "train.sample_every=1000", "train.ckpt_every=1000"]
    return load_config(preset, overrides + list(QUICK_OVERRIDES if quick else ()))


RADFORD = "Radford et al. 2016"


def training_rows(quick: bool) -> list[Setting]:
    """How the DCGAN both reproductions read was trained, beside section 4 of the paper."""
    config = dcgan_config(quick)
    adam = f"Adam, lr {config.optim.g.lr:g}, beta1 {config.optim.g.beta1:g}"
    return [Setting("optimiser", "Adam, lr 0.0002, beta1 0.5", f"{RADFORD}, section 4", adam,
                    SAME if adam == "Adam, lr 0.0002, beta1 0.5" else DIFFERS),
            Setting("batch", "128", f"{RADFORD}, section 4", str(config.train.batch_size),
                    SAME if config.train.batch_size == 128 else DIFFERS, "the dcgan_fashion preset's batch"),
            Setting("length", NOT_STATED + " for the Imagenet-1k DCGAN", "",
                    f"{config.train.steps:,} steps of batch {config.train.batch_size}", UNKNOWN)]


def trained_dcgan(run_dir: Path, quick: bool) -> Path:
    """The checkpoint of the DCGAN for `quick`: reused from this process or from `run_dir`, else trained there."""
    config = dcgan_config(quick)
    key = dump_yaml(config)
    known = _TRAINED.get(key)
    if known is not None and known.is_file():
        return known
    checkpoint = run_dir / CHECKPOINT
    finished = checkpoint.is_file() and (run_dir / "config.yaml").is_file() \
        and (run_dir / "config.yaml").read_text() == key \
        and load_checkpoint(checkpoint).get("step") == config.train.steps
    if not finished:
        shutil.rmtree(run_dir, ignore_errors=True)  # an interrupted or different run: start again
        checkpoint = train(config, run_dir, label="dcgan", progress=False).checkpoint
    _TRAINED[key] = checkpoint
    return checkpoint


def load_discriminator(checkpoint: Path) -> nn.Module:
    """The trained D stored in `checkpoint`, in eval mode (batch norm from its running statistics)."""
    payload = load_checkpoint(checkpoint)
    D = rebuild(payload["models"], "discriminator")
    load_state(D, payload["discriminator"], "discriminator", str(checkpoint))
    return D.eval().requires_grad_(False)


def random_discriminator(checkpoint: Path, seed: int) -> nn.Module:
    """A D of the same shape as the one in `checkpoint`, freshly initialised (N(0, 0.02)) from `seed`."""
    with torch.random.fork_rng(devices=[]):  # leaves the caller's random stream as it was
        torch.manual_seed(seed)
        D = rebuild(load_checkpoint(checkpoint)["models"], "discriminator")
    return D.eval().requires_grad_(False)


@lru_cache(maxsize=2)
def fashion_mnist(split: str, resolution: int = 32) -> Dataset:
    """Fashion-MNIST `split` ("train" or "test") at the preset's resolution; raises `DataError` if absent."""
    return build_dataset(DataConfig(name="fashion-mnist", split=split, resolution=resolution))
