"""Atomic file writing: write beside the target, then rename, so readers never see half a file."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .outputs import writing


def umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[str]:
    """Yield a temporary path in `path`'s folder; on success it replaces `path` with the usual file mode
    (mkstemp's private 0600 would surprise whoever shares a run directory), on failure it is removed. An OS
    error on the way (a parent that is a file, a full disk) comes out as one `OutputError` naming `path`."""
    path = Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp" + path.suffix, dir=path.parent)
        os.close(handle)
        try:
            yield tmp
            os.chmod(tmp, 0o666 & ~umask())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
