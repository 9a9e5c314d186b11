"""The content store interface and file-level operations on top of any block store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO, Protocol, runtime_checkable

from peerhost.storage.cid import CID
from peerhost.storage.errors import TooLarge
from peerhost.storage.unixfs import Block, file_chunks, import_stream

READ_SIZE = 1024 * 1024
MAX_DAG_DEPTH = 16


@runtime_checkable
class BlockStore(Protocol):
    """Blocks by CID. `get_block` returns only data that hashes to its CID (else IntegrityError)."""

    def put_block(self, block: Block) -> None: ...

    def get_block(self, cid: CID) -> bytes: ...

    def has(self, cid: CID) -> bool: ...


def read_chunks(source: BinaryIO, size: int = READ_SIZE) -> Iterator[bytes]:
    while chunk := source.read(size):
        yield chunk


def add_stream(store: BlockStore, chunks: Iterable[bytes], cid_version: int = 1) -> CID:
    """Imports a stream as a UnixFS file into `store`; returns its root CID."""
    return import_stream(chunks, cid_version, store.put_block)


def add_bytes(store: BlockStore, data: bytes, cid_version: int = 1) -> CID:
    return add_stream(store, [data], cid_version)


def add_file(store: BlockStore, source: BinaryIO, cid_version: int = 1) -> CID:
    return add_stream(store, read_chunks(source), cid_version)


def cat(store: BlockStore, cid: CID, *, max_size: int | None = None) -> Iterator[bytes]:
    """Streams the content of file `cid`, verifying every block on the way.

    Raises TooLarge as soon as more than `max_size` bytes would be produced."""
    produced = 0

    def walk(node: CID, depth: int) -> Iterator[bytes]:
        nonlocal produced
        if depth > MAX_DAG_DEPTH:
            raise TooLarge(f"{cid}: DAG deeper than {MAX_DAG_DEPTH} levels")
        data, children = file_chunks(node, store.get_block(node))
        if data:
            produced += len(data)
            if max_size is not None and produced > max_size:
                raise TooLarge(f"{cid} is larger than the limit of {max_size} bytes")
            yield data
        for child in children:
            yield from walk(child, depth + 1)

    yield from walk(cid, 0)


def cat_bytes(store: BlockStore, cid: CID, *, max_size: int | None = None) -> bytes:
    return b"".join(cat(store, cid, max_size=max_size))


def dag_blocks(store: BlockStore, cid: CID) -> Iterator[Block]:
    """Every block of the DAG under `cid`, depth-first, root first (the order of a CAR)."""
    block = store.get_block(cid)
    yield Block(cid, block)
    _, children = file_chunks(cid, block)
    for child in children:
        yield from dag_blocks(store, child)
