"""A block store in a local directory: one file per block, sharded by digest, atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from peerhost.storage.cid import CID
from peerhost.storage.errors import NotFound
from peerhost.storage.unixfs import Block


class LocalBlockStore:
    """Blocks under `root/<codec>/<2 hex>/<digest hex>`; reads are verified against the CID."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, cid: CID) -> Path:
        digest = cid.digest.hex()
        return self.root / cid.codec_name / digest[:2] / digest

    def put_block(self, block: Block) -> None:
        block.cid.verify(block.data)
        path = self._path(block.cid)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(block.data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_block(self, cid: CID) -> bytes:
        try:
            data = self._path(cid).read_bytes()
        except FileNotFoundError:
            raise NotFound(cid) from None
        cid.verify(data)
        return data

    def has(self, cid: CID) -> bool:
        return self._path(cid).exists()


class MemoryBlockStore:
    """A block store in memory (tests, and caches in front of remote stores)."""

    def __init__(self) -> None:
        self.blocks: dict[tuple[int, bytes], bytes] = {}

    def put_block(self, block: Block) -> None:
        block.cid.verify(block.data)
        self.blocks[(block.cid.codec, block.cid.digest)] = block.data

    def get_block(self, cid: CID) -> bytes:
        try:
            data = self.blocks[(cid.codec, cid.digest)]
        except KeyError:
            raise NotFound(cid) from None
        cid.verify(data)
        return data

    def has(self, cid: CID) -> bool:
        return (cid.codec, cid.digest) in self.blocks
