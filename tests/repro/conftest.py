"""Shared by the DCGAN reproductions' tests: one quick run per module, skipped without Fashion-MNIST."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ganforge.errors import DataError
from ganforge.repro import run_repro
from ganforge.repro.dcgan_common import fashion_mnist


def quick_fashion_run(tmp_path_factory, name: str) -> Path:
    """The quick protocol of reproduction `name` in a fresh folder; skips when Fashion-MNIST is missing."""
    try:
        fashion_mnist("train")
    except DataError as exc:
        pytest.skip(f"Fashion-MNIST is not installed: {exc}")
    out = tmp_path_factory.mktemp(name)
    run_repro(name, out, quick=True)
    return out


def assert_pngs(folder: Path, names: list[str]) -> None:
    """Each named file in `folder` is a PNG that PIL reads without error."""
    for name in names:
        path = folder / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            image.verify()
