"""The GPU runbook (benchmarks/gpu_all.sh = gpu_check.sh, then gpu_repros.sh) dry-run on a machine without
CUDA: it exits 0 within a minute, every GPU part says why it is skipped, the summary lists every part of both
scripts, and $OUT holds what the device tool brings back (at most 8 files). Also the carried data's unpacking
(benchmarks/gpu_carry.py) on hand-made files, with its checksum refusal."""
from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
NO_CUDA = "no CUDA device visible to torch"
REPROS = ("mode-collapse", "sngan-stability", "pggan", "pacgan-table1")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHON": sys.executable, "GPU_WORK": str(tmp_path / "work"), **extra}


def _rows(summary: str, heading: str) -> dict[str, list[str]]:
    """The table under `## heading` of summary.md: part -> its other cells."""
    section = summary.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[2:]}   # header, rule


@pytest.mark.skipif(torch.cuda.is_available(), reason="a dry run needs a machine without CUDA")
def test_dry_run_skips_every_gpu_part_and_lists_it(tmp_path):
    out = tmp_path / "out"
    start = time.perf_counter()
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_all.sh")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=_env(tmp_path, OUT=str(out)))
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-2000:]
    assert seconds < 60, f"the dry run took {seconds:.0f} s"
    assert sorted(p.name for p in out.iterdir()) == ["gpu_all.log", "results.tar.gz", "summary.md"]
    summary = (out / "summary.md").read_text()
    check, repros = _rows(summary, "Check"), _rows(summary, "Reproductions")
    script = (ROOT / "benchmarks" / "gpu_check.sh").read_text()
    tags = set(re.findall(r"gpu_bench (\w+) ", script)) - {"TAG"}
    assert {"dcgan_b64", "dcgan_b64_cudagraphs", "dcgan_b256"} <= tags
    for part in [*(t for t in tags if "$" not in t), "pytest_cuda", "ddp"]:
        assert check[part][:1] == ["skipped"] and check[part][2] == NO_CUDA, part
    assert check["bench_commands"][0] == "0"          # every GPU bench command line parses and names known switches
    assert set(REPROS) | {"data"} == set(repros)
    for name in REPROS:
        assert repros[name] == ["skipped", "0", NO_CUDA], name
    log = (out / "gpu_all.log").read_text()
    assert all(f"=== {name}: skipped: {NO_CUDA}" in log for name in REPROS)
    with tarfile.open(out / "results.tar.gz") as archive:
        names = set(archive.getnames())
    assert {"stage/check/gpu_check.md", "stage/repros/summary.md", "done"} <= names
    assert not (tmp_path / "work" / "done" / "check").exists()   # a dry run never marks the check done


def test_a_missing_reproduction_is_skipped_with_the_reason(tmp_path):
    fake_python = tmp_path / "python"
    # a python whose ganforge lists no budgeted pggan: that part must say so, the others carry on
    fake_python.write_text("#!/bin/sh\nif [ \"$1\" = -c ] && echo \"$2\" | grep -q budgeted; then "
                           "echo mode-collapse sngan-stability pacgan-table1; exit 0; fi\n"
                           f"exec {sys.executable} \"$@\"\n")
    fake_python.chmod(0o755)
    out = tmp_path / "out"
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_repros.sh")], capture_output=True, text=True,
                          timeout=60, env=_env(tmp_path, OUT=str(out), PYTHON=str(fake_python)))
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split("\t")[0]: line.split("\t") for line in (out / "parts.tsv").read_text().splitlines()}
    assert rows["pggan"][1] == "skipped" and "not a reproduction that takes --budget" in rows["pggan"][3]
    assert set(rows) == {"data", *REPROS}


def _carry(folder: Path, files: dict[str, bytes], corrupt: str = "") -> None:
    manifest = {}
    for key, raw in files.items():
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{key}.xz").write_bytes(lzma.compress(raw + (b"!" if key == corrupt else b"")))
        manifest[key] = {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))


def _npz(n: int) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.full((n, 1, 128, 128), n, np.uint8), y=np.zeros(n, np.int64))
    return buffer.getvalue()


def test_unpack_writes_the_elpv_files_where_pggan_reads_them_and_checks_them(tmp_path):
    from ganforge.config import DataConfig
    from ganforge.data import build_dataset

    files = {"elpv_train_128.npz": _npz(3), "elpv_test_128.npz": _npz(2)}
    carry, target = tmp_path / "carry", tmp_path / "pggan"
    carry.mkdir()
    _carry(carry, files)
    run = [sys.executable, str(ROOT / "benchmarks" / "gpu_carry.py"), "unpack", "--carry", str(carry),
           "--pggan", str(target)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HOME": str(tmp_path / "home")}
    fashion = ["/usr/share/datasets/fashion-mnist"]
    if not all(Path(fashion[0], f"{f}-ubyte.gz").is_file() for f in ("train-images-idx3", "t10k-labels-idx1")):
        pytest.skip("needs the system Fashion-MNIST, so the unpacking leaves it alone")
    done = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (target / "elpv_train_128.npz").read_bytes() == files["elpv_train_128.npz"]
    test = build_dataset(DataConfig(name="npz", root=str(target / "elpv_test_128.npz"), resolution=128,
                                    channels=1))
    assert len(test) == 2 and int(test.samples.max()) == 2
    (target / "elpv_train_128.npz").unlink()
    _carry(carry, files, corrupt="elpv_train_128.npz")
    done = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1 and "SHA-256 differs" in done.stderr
    assert not (target / "elpv_train_128.npz").exists()
