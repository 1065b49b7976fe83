"""Shared by the DCGAN reproductions' tests: one quick run per module, skipped without Fashion-MNIST."""
from __future__ import annotations

from pathlib import Path

import pytest

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
