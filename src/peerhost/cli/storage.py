"""`peerhost cid`: the CID of a file, computed exactly as Kubo's `ipfs add -Q -n`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from peerhost.storage.errors import StorageError
from peerhost.storage.store import read_chunks
from peerhost.storage.unixfs import import_stream


def cid(
    file: str = typer.Argument(..., help="File to hash ('-' reads standard input)."),
    cid_version: int = typer.Option(1, "--cid-version", min=0, max=1,
                                    help="0 = Kubo's default (Qm…), 1 = raw leaves, base32 (bafy…/bafk…)."),
) -> None:
    """Print the CID of FILE and nothing else (like `ipfs add -Q -n`)."""
    if file == "-":
        root = import_stream(read_chunks(sys.stdin.buffer), cid_version)
    else:
        path = Path(file)
        if path.is_dir():
            raise StorageError(f"{file} is a directory: `peerhost cid` hashes files (use `peerhost build` for projects)")
        try:
            with path.open("rb") as f:
                root = import_stream(read_chunks(f), cid_version)
        except FileNotFoundError:
            raise StorageError(f"no such file: {file}") from None
        except PermissionError:
            raise StorageError(f"cannot read {file}: permission denied") from None
    print(root)
