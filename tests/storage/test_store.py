from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from peerhost.storage.car import read_car, write_car
from peerhost.storage.cid import CID
from peerhost.storage.errors import IntegrityError, NotFound, TooLarge
from peerhost.storage.local import LocalBlockStore, MemoryBlockStore
from peerhost.storage.store import add_bytes, add_file, cat, cat_bytes, dag_blocks
from peerhost.storage.unixfs import DagError, PBNode, UnixFSData, import_bytes

DATA = random.Random(1).randbytes(3 * 256 * 1024 + 17)


@pytest.mark.parametrize("version", [0, 1])
def test_local_store_roundtrip(tmp_path: Path, version: int) -> None:
    store = LocalBlockStore(tmp_path)
    root = add_file(store, io.BytesIO(DATA), version)
    assert root == import_bytes(DATA, version)[0]
    assert cat_bytes(store, root) == DATA
    assert store.has(root)
    # Reopening the directory finds everything again.
    assert cat_bytes(LocalBlockStore(tmp_path), root) == DATA


def test_missing_block_is_not_found(tmp_path: Path) -> None:
    store = LocalBlockStore(tmp_path)
    with pytest.raises(NotFound):
        store.get_block(CID.of(b"absent"))
    assert not store.has(CID.of(b"absent"))


def test_corrupted_block_on_disk_is_never_returned(tmp_path: Path) -> None:
    store = LocalBlockStore(tmp_path)
    root = add_bytes(store, DATA, 1)
    leaves = [b for b in dag_blocks(store, root) if b.cid.codec == 0x55]
    path = store._path(leaves[1].cid)
    path.write_bytes(b"tampered" + path.read_bytes()[8:])
    with pytest.raises(IntegrityError):
        cat_bytes(store, root)


def test_put_refuses_mismatched_block(tmp_path: Path) -> None:
    from peerhost.storage.unixfs import Block

    for store in (LocalBlockStore(tmp_path), MemoryBlockStore()):
        with pytest.raises(IntegrityError):
            store.put_block(Block(CID.of(b"a"), b"b"))


def test_cat_enforces_a_size_limit() -> None:
    store = MemoryBlockStore()
    root = add_bytes(store, DATA, 1)
    with pytest.raises(TooLarge):
        cat_bytes(store, root, max_size=len(DATA) - 1)
    assert cat_bytes(store, root, max_size=len(DATA)) == DATA


def test_cat_streams_in_order() -> None:
    store = MemoryBlockStore()
    root = add_bytes(store, DATA, 0)
    parts = list(cat(store, root))
    assert len(parts) == 4
    assert b"".join(parts) == DATA


def test_non_file_dag_pb_node_is_refused() -> None:
    store = MemoryBlockStore()
    from peerhost.storage.unixfs import Block

    directory = PBNode(data=UnixFSData(1).encode()).encode()  # UnixFS Directory
    cid = CID.of(directory, 0x70, 1)
    store.put_block(Block(cid, directory))
    with pytest.raises(DagError, match="not a UnixFS file"):
        cat_bytes(store, cid)
    garbage = b"\x0a\xff\xff"
    gcid = CID.of(garbage, 0x70, 1)
    store.put_block(Block(gcid, garbage))
    with pytest.raises(DagError):
        cat_bytes(store, gcid)


@pytest.mark.parametrize("version", [0, 1])
def test_car_roundtrip(version: int) -> None:
    store = MemoryBlockStore()
    root = add_bytes(store, DATA, version)
    car = b"".join(write_car(root, dag_blocks(store, root)))
    roots, blocks = read_car(car)
    assert roots == [root]
    other = MemoryBlockStore()
    for block in blocks:
        other.put_block(block)
    assert cat_bytes(other, root) == DATA


def test_tampered_car_is_refused() -> None:
    store = MemoryBlockStore()
    root = add_bytes(store, b"small content", 1)
    car = bytearray(b"".join(write_car(root, dag_blocks(store, root))))
    car[-1] ^= 0xFF
    with pytest.raises(IntegrityError):
        read_car(bytes(car))
