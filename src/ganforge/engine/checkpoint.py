"""Checkpoints: plain dicts of tensors and primitive values, written atomically, read without unpickling code.

`torch.load(..., weights_only=True)` only rebuilds tensors and primitive containers, so a checkpoint from an
untrusted source cannot run code. The dict records the model spec (family and constructor arguments), so
networks can be rebuilt from the checkpoint alone.
"""
from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from ..fileio import atomic_path

FORMAT = "ganforge-checkpoint"
VERSION = 1


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write `payload` to `path` through a temporary file and a rename, so a crash never leaves half a file."""
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, tmp)


def resolve_checkpoint(path: str | Path) -> Path:
    """Accept a checkpoint file or a run directory holding `checkpoint.pt`."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    return path


def _gist(exc: Exception) -> str:
    """A load error in whole sentences: for a refused object the sentence naming it (torch's advice to load
    with weights_only=False is the one thing not to do with an untrusted file), else the first sentence."""
    sentences = re.split(r"(?<=\.)\s+", " ".join(str(exc).split())) if str(exc).strip() else []
    named = [s for s in sentences if "GLOBAL" in s]
    return (named or sentences or [type(exc).__name__])[0].rstrip(".")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a ganforge checkpoint safely; raises `CheckpointError` with one line on any problem."""
    path = resolve_checkpoint(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable ganforge checkpoint ({_gist(exc)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a ganforge checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {payload.get('version')} but this ganforge reads {VERSION}")
    return payload


def load_state(module: Any, state: dict, what: str, path: str | Path = "checkpoint") -> None:
    """`module.load_state_dict(state)` with mismatches reported as one `CheckpointError` line."""
    try:
        module.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"{path}: {what} does not match this model ({detail})") from None
