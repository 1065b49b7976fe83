"""Overrides for runs small enough to train in well under a second."""
from __future__ import annotations


def toy_overrides(out_dir, steps: int = 20) -> list[str]:
    return [f"out_dir={out_dir}", "data.name=ring", "data.num_samples=2048", "model.name=mlp",
            "model.z_dim=4", "model.g_channels=16", "model.d_channels=16", "model.depth=2",
            f"train.steps={steps}", "train.batch_size=32", "train.log_every=10", "train.sample_every=1000",
            "train.ckpt_every=1000", "train.progress=false", "train.tensorboard=false"]


def image_overrides(npz_path, out_dir, steps: int = 6) -> list[str]:
    return [f"out_dir={out_dir}", "data.name=npz", f"data.root={npz_path}", "data.resolution=8",
            "model.name=dcgan", "model.z_dim=8", "model.g_channels=4", "model.d_channels=4",
            f"train.steps={steps}", "train.batch_size=16", "train.log_every=2", "train.sample_every=3",
            "train.ckpt_every=3", "train.n_grid=16", "train.progress=false", "train.tensorboard=false",
            "train.ema_decay=0.9"]
