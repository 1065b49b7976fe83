"""The GPU runbook's data, carried to the device machine within its 64 MiB (working tree included).

    python benchmarks/gpu_carry.py pack   [--carry data/carry]              # here (benchmarks/gpu_prepare.sh)
    python benchmarks/gpu_carry.py unpack [--carry data/carry] --pggan DIR  # there (benchmarks/gpu_repros.sh)

`pack` writes into the carry folder Fashion-MNIST's four IDX files (from where ganforge's loader finds them)
and elpv's train and test splits at 128x128 (from the elpv-dataset package, as uncompressed .npz), each
xz-compressed, with MANIFEST.json (each file's size and SHA-256 once unpacked). xz matters: gzip and deflate
take 59 MB for the two sets, which with the working tree is over the limit; xz takes about 49 MB. Files already
packed are kept.

`unpack` checks each file against the manifest and writes Fashion-MNIST into ~/.cache/ganforge/fashion-mnist
(where the loader looks; skipped when the loader already finds the four files) and the elpv files into DIR,
the pggan reproduction's output folder, where it reads them.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import sys
from pathlib import Path

import numpy as np

FASHION = "fashion-mnist"
SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")   # Debian's dataset-fashion-mnist
ELPV_RESOLUTION = 128


def _write(carry: Path, key: str, raw: bytes, manifest: dict) -> None:
    """`raw` xz-compressed into `carry/KEY.xz` (unless there already), recorded in the manifest under `key`."""
    target = carry / f"{key}.xz"
    if not target.is_file():
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(lzma.compress(raw, preset=6))
        tmp.rename(target)
    manifest[key] = {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    print(f"  {target.name}: {target.stat().st_size / 2**20:.1f} MiB ({len(raw) / 2**20:.1f} MiB unpacked)")


def _fashion_source(given: str | None) -> Path:
    from ganforge.data.idx import FILES, cache_dir

    folders = [Path(given)] if given else [SYSTEM_FASHION, cache_dir(FASHION)]
    for folder in folders:
        if all((folder / f"{f}.gz").is_file() or (folder / f).is_file() for f in FILES):
            return folder
    sys.exit(f"gpu_carry: Fashion-MNIST not found in {' or '.join(map(str, folders))} "
             "(ganforge download fashion-mnist, or --fashion DIR)")


def pack(carry: Path, fashion: str | None) -> None:
    import gzip

    from ganforge.config import DataConfig
    from ganforge.data.elpv import load_elpv
    from ganforge.data.idx import FILES

    (carry / FASHION).mkdir(parents=True, exist_ok=True)
    manifest: dict = {}
    source = _fashion_source(fashion)
    print(f"gpu_carry: Fashion-MNIST from {source}")
    for name in FILES:
        packed = carry / FASHION / f"{name}.xz"
        if packed.is_file():                      # kept: its manifest entry is read back from it
            raw = lzma.decompress(packed.read_bytes())
        else:
            gz = source / f"{name}.gz"
            raw = gzip.decompress(gz.read_bytes()) if gz.is_file() else (source / name).read_bytes()
        _write(carry, f"{FASHION}/{name}", raw, manifest)
    print(f"gpu_carry: elpv at {ELPV_RESOLUTION}x{ELPV_RESOLUTION} from the elpv-dataset package")
    for split in ("train", "test"):
        name = f"elpv_{split}_{ELPV_RESOLUTION}.npz"
        packed = carry / f"{name}.xz"
        if packed.is_file():
            raw = lzma.decompress(packed.read_bytes())
        else:
            data = load_elpv(DataConfig(name="elpv", split=split, resolution=ELPV_RESOLUTION))
            buffer = io.BytesIO()
            np.savez(buffer, x=data.samples.numpy(), y=data.labels.numpy())
            raw = buffer.getvalue()
        _write(carry, name, raw, manifest)
    (carry / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(p.stat().st_size for p in carry.rglob("*") if p.is_file())
    print(f"gpu_carry: {carry} holds {total / 2**20:.1f} MiB")


def _unpacked(carry: Path, key: str, manifest: dict) -> bytes:
    raw = lzma.decompress((carry / f"{key}.xz").read_bytes())
    if hashlib.sha256(raw).hexdigest() != manifest[key]["sha256"]:
        sys.exit(f"gpu_carry: {carry / key}.xz does not unpack to what was packed (SHA-256 differs)")
    return raw


def unpack(carry: Path, pggan: Path) -> None:
    from ganforge.data.idx import FILES, cache_dir

    manifest = json.loads((carry / "MANIFEST.json").read_text())
    found = [f for f in (SYSTEM_FASHION, cache_dir(FASHION))
             if all((f / f"{n}.gz").is_file() or (f / n).is_file() for n in FILES)]
    if found:
        print(f"gpu_carry: Fashion-MNIST already in {found[0]}")
    else:
        target = cache_dir(FASHION)
        target.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            (target / name).write_bytes(_unpacked(carry, f"{FASHION}/{name}", manifest))
        print(f"gpu_carry: Fashion-MNIST unpacked into {target}")
    pggan.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        name = f"elpv_{split}_{ELPV_RESOLUTION}.npz"
        if (pggan / name).is_file():
            continue
        tmp = pggan / f"{name}.part"
        tmp.write_bytes(_unpacked(carry, name, manifest))
        tmp.rename(pggan / name)
    print(f"gpu_carry: elpv at {ELPV_RESOLUTION}x{ELPV_RESOLUTION} in {pggan}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["pack", "unpack"])
    parser.add_argument("--carry", default="data/carry", help="the carried folder (default data/carry)")
    parser.add_argument("--fashion", help="pack: Fashion-MNIST's folder (default: where ganforge finds it)")
    parser.add_argument("--pggan", help="unpack: the pggan reproduction's output folder")
    args = parser.parse_args()
    carry = Path(args.carry)
    if args.action == "pack":
        pack(carry, args.fashion)
    elif not args.pggan:
        parser.error("unpack needs --pggan DIR")
    elif not (carry / "MANIFEST.json").is_file():
        sys.exit(f"gpu_carry: nothing to unpack: no {carry}/MANIFEST.json (run bash benchmarks/gpu_prepare.sh)")
    else:
        unpack(carry, Path(args.pggan))


if __name__ == "__main__":
    main()
