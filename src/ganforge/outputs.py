"""Where a command writes, checked before any work starts.

Every subcommand and library call that writes resolves its output here first: whether it is a file or a
folder, which format its suffix means, whether its parent is a folder, whether that place takes new files,
and (where old files would mix with new ones) whether it is empty. A refusal costs nothing and leaves nothing
behind: the checks create no folder, and the writability probe removes its one empty file at once. An OS
error that still comes late (a full disk, a folder removed meanwhile) becomes one `OutputError` line naming
the path, through `writing`.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import GanforgeError

CHECKPOINT = "checkpoint.pt"  # the file that makes a folder a run (`ganforge train --resume` reads it)

SAMPLE_FORMATS = {".png": "picture", ".npz": "npz"}  # ganforge sample's file outputs; a folder is the third


class OutputError(GanforgeError):
    """An output path that cannot take what the command would write there."""


def _existing_ancestor(path: Path) -> Path:
    """The nearest of `path`'s parents that exists (where new folders would start being made)."""
    for parent in path.absolute().parents:
        if parent.exists():
            return parent
    return Path(path.absolute().anchor)


def _check_place(path: Path, option: str) -> None:
    """`path`'s parent is, or can become, a folder that takes new files: probed by creating (and at once
    removing) an empty file in the nearest existing folder above it, since permission bits say nothing to
    root and nothing of read-only or virtual file systems."""
    base = _existing_ancestor(path)
    if not base.is_dir():
        raise OutputError(f"{option} {path}: {base} is a file, not a folder")
    try:
        handle, probe = tempfile.mkstemp(prefix=".ganforge-probe-", dir=base)
    except OSError as exc:
        raise OutputError(f"{option} {path}: cannot create files in {base} ({exc.strerror})") from None
    os.close(handle)
    os.unlink(probe)


def check_file(path: str | Path, suffixes: tuple[str, ...], option: str = "--out") -> Path:
    """`path` as a file to (over)write whose suffix is one of `suffixes` (lower case, with the dot)."""
    path = Path(path).expanduser()
    if path.suffix.lower() not in suffixes:
        raise OutputError(f"{option} {path}: must end in {' or '.join(suffixes)}, the format written there")
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a folder; give a file name ending in {' or '.join(suffixes)}")
    _check_place(path, option)
    return path


def check_folder(path: str | Path, option: str = "--out", empty: bool = False, why: str = "") -> Path:
    """`path` as a folder to write into: new, or existing (and `empty`, when old files would be taken for
    new ones; `why` says so in the refusal)."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {path}: is a file; give a folder")
    if path.is_dir():
        if empty:
            held = sorted(p.name for p in path.iterdir())
            if held:
                raise OutputError(f"{option} {path}: already holds {len(held)} entries (e.g. {held[0]}){why}; "
                                  "choose a new or empty folder, or remove them")
        _check_place(path / "x", option)
    else:
        _check_place(path, option)
    return path


def check_run_folder(path: str | Path, option: str = "--out") -> Path:
    """A new training run's folder: new or empty. One holding a checkpoint is a run to continue with
    --resume; one holding anything else would mix its old pictures and logs into the new run's report."""
    path = Path(path).expanduser()
    if (path / CHECKPOINT).is_file():
        raise OutputError(f"{option} {path}: already holds a run; continue it with `ganforge train --resume "
                          f"{path}` or choose another folder")
    return check_folder(path, option, empty=True, why=" but no checkpoint to resume")


def sample_kind(out: str | Path) -> str:
    """What `ganforge sample --out` writes: "picture" (FILE.png), "npz" (FILE.npz) or "folder" (DIR/: a
    trailing slash, a name without a suffix, or an existing folder); any other suffix is refused, and a suffix
    names a file even where a folder of that name exists (which `check_sample_output` then refuses)."""
    text = str(out)
    path = Path(text)
    if text.endswith(("/", "\\")):
        return "folder"
    kind = SAMPLE_FORMATS.get(path.suffix.lower())
    if kind is None and (path.is_dir() or not path.suffix):
        return "folder"
    if kind is None:
        raise OutputError(f"--out {path}: unknown format {path.suffix!r}; give FILE.png (a picture), "
                          "FILE.npz (uint8 arrays) or DIR/ (numbered PNGs)")
    return kind


def check_sample_output(out: str | Path) -> str:
    """`sample_kind(out)`, with the place checked; an export folder must be new or empty."""
    kind = sample_kind(out)
    if kind == "folder":
        check_folder(out, empty=True, why=", which would be scored with the new samples")
    else:
        check_file(out, tuple(s for s, k in SAMPLE_FORMATS.items() if k == kind))
    return kind


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn an OS error raised while writing `path` into one line naming it."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or path
        raise OutputError(f"cannot write {where}: {exc.strerror or exc}") from None


def positive_int(text: str) -> int:
    """argparse type of a count: a whole number >= 1 (zero is refused, never read as "unset")."""
    return _int_at_least(text, 1, "a positive whole number")


def non_negative_int(text: str) -> int:
    return _int_at_least(text, 0, "a whole number >= 0")


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
    return value
