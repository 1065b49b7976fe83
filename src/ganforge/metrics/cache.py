"""On-disk cache of real-data statistics, keyed by a hash of everything they depend on, written atomically."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from ..fileio import atomic_path


def default_cache_dir() -> Path:
    return Path(os.environ.get("GANFORGE_CACHE", Path.home() / ".cache" / "ganforge" / "stats"))


def cache_key(options: dict) -> str:
    """A short stable hash of `options` (a JSON-serialisable dict)."""
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:20]


def cached_arrays(name: str, options: dict, compute: Callable[[], dict[str, np.ndarray]],
                  cache_dir: Path | None) -> dict[str, np.ndarray]:
    """`compute()` once per distinct `options`; later calls read `<cache_dir>/<name>-<hash>.npz`.

    With `cache_dir` None nothing is read or written. A corrupt cache file is recomputed and replaced.
    """
    if cache_dir is None:
        return compute()
    path = Path(cache_dir) / f"{name}-{cache_key(options)}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {key: stored[key] for key in stored.files}
        except (OSError, ValueError, EOFError):
            pass
    arrays = compute()
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
    return arrays
