"""Regenerates kubo_vectors.json: CIDs of deterministic test files from the reference oracle.

The content of size N is `random.Random(N).randbytes(N)`. CIDs come from kubo_oracle.mjs (the JS
UnixFS importer with Kubo's defaults); CIDv0 is also cross-checked with Debian's `ipfs_cid`
(Rust unixfs) when it is installed. Run: .venv/bin/python tests/storage/make_vectors.py
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
KIB = 1024
SIZES = [0, 1, 100, 256 * KIB - 1, 256 * KIB, 256 * KIB + 1, 1024 * KIB, 3_000_000, 50_000_000]


def content(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def oracle(version: int, paths: list[Path]) -> list[str]:
    out = subprocess.run(
        ["node", str(HERE / "kubo_oracle.mjs"), str(version), *map(str, paths)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.split()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for size in SIZES:
            path = Path(tmp) / f"{size}.bin"
            path.write_bytes(content(size))
            paths.append(path)
        v0, v1 = oracle(0, paths), oracle(1, paths)
        if shutil.which("ipfs_cid"):
            for path, expected in zip(paths, v0, strict=True):
                got = json.loads(subprocess.run(["ipfs_cid", str(path)], capture_output=True, text=True).stdout)
                assert got["CIDv0"] == expected, (path, got, expected)
            print("CIDv0 cross-checked with ipfs_cid")
    vectors = [{"size": s, "cidv0": a, "cidv1": b} for s, a, b in zip(SIZES, v0, v1, strict=True)]
    (HERE / "kubo_vectors.json").write_text(json.dumps({"content": "random.Random(size).randbytes(size)",
                                                         "vectors": vectors}, indent=1) + "\n")
    print(json.dumps(vectors, indent=1))


if __name__ == "__main__":
    main()
