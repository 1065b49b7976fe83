"""Fetch the IDX datasets into a folder that the loaders read: atomically, resumably, validated."""
from __future__ import annotations

import contextlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from ..errors import DataError
from ..outputs import check_folder, writing
from .idx import FILES, cache_dir, read_idx

BASE_URLS = {
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
}
_CHUNK = 1 << 20
_TIMEOUT_S = 60


def _is_valid(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        read_idx(path)
    except DataError:
        return False
    return True


def _fetch(url: str, path: Path, progress: bool) -> None:
    """Stream `url` into `path.part`, check that it parses as IDX, then rename it to `path`."""
    part = path.with_name(path.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=path.name, disable=not progress) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
        read_idx(part)
        os.replace(part, path)
    except urllib.error.HTTPError as exc:
        raise DataError(f"could not download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise DataError(f"could not download {url}: {reason}") from None
    except DataError as exc:
        raise DataError(f"could not download {url}: corrupt file ({exc})") from None
    finally:
        part.unlink(missing_ok=True)


def download(name: str, root: str | Path | None = None, base_url: str | None = None,
             progress: bool = True) -> Path:
    """Download the four gzipped IDX files of `name` into `root` (default ~/.cache/ganforge/NAME).

    Files already present and valid are skipped, so an interrupted download resumes file by file. On a
    failure the files fetched so far stay (and the message says so), while folders this call made and left
    empty are removed. Returns the folder, ready for `data.root`.
    """
    if name not in BASE_URLS:
        raise DataError(f"cannot download {name!r}: known datasets are {', '.join(sorted(BASE_URLS))}")
    folder = check_folder(Path(root).expanduser() if root else cache_dir(name), "--root")
    base = (base_url or BASE_URLS[name]).rstrip("/") + "/"
    made = [p for p in [folder, *folder.absolute().parents] if not p.exists()]  # deepest first
    with writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    try:
        for stem in FILES:
            if _is_valid(folder / stem) or _is_valid(folder / f"{stem}.gz"):
                continue
            _fetch(base + f"{stem}.gz", folder / f"{stem}.gz", progress)
    except BaseException as exc:
        kept = sum(_is_valid(folder / f"{stem}.gz") or _is_valid(folder / stem) for stem in FILES)
        for path in made:
            with contextlib.suppress(OSError):  # not empty: it holds what an earlier download fetched
                path.rmdir()
        if isinstance(exc, DataError):
            left = (f"; kept the {kept} of {len(FILES)} files fetched in {folder}, run again to fetch the rest"
                    if kept else "; nothing was kept")
            raise DataError(f"{exc}{left}") from None
        raise
    return folder
