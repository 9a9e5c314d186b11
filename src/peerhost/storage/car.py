"""CARv1 archives (the `application/vnd.ipld.car` format of trustless gateways)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from peerhost.storage.cid import CID, decode_varint, encode_varint
from peerhost.storage.errors import StorageError
from peerhost.storage.unixfs import Block

MAX_CAR_BLOCK = 4 * 1024 * 1024


def _cbor_header(root: CID) -> bytes:
    """DAG-CBOR of {"roots": [root], "version": 1} (keys in canonical order)."""
    cid_bytes = b"\x00" + root.to_bytes()  # tag 42 payload: multibase identity prefix + binary CID
    cid_item = b"\xd8\x2a" + _cbor_bytes_head(len(cid_bytes)) + cid_bytes
    return b"\xa2" + b"\x65roots" + b"\x81" + cid_item + b"\x67version" + b"\x01"


def _cbor_bytes_head(n: int) -> bytes:
    if n < 24:
        return bytes([0x40 | n])
    if n < 256:
        return bytes([0x58, n])
    return bytes([0x59]) + n.to_bytes(2, "big")


def write_car(root: CID, blocks: Iterable[Block]) -> Iterator[bytes]:
    """Yields the bytes of a CARv1 with `root` and `blocks`."""
    header = _cbor_header(root)
    yield encode_varint(len(header)) + header
    for block in blocks:
        cid = block.cid.to_bytes()
        yield encode_varint(len(cid) + len(block.data)) + cid
        yield block.data


def read_car(data: bytes) -> tuple[list[CID], list[Block]]:
    """Parses a CARv1; every block is verified against its CID."""
    try:
        length, pos = decode_varint(data, 0)
        header = data[pos : pos + length]
        pos += length
        roots = _parse_roots(header)
        blocks = []
        while pos < len(data):
            length, pos = decode_varint(data, pos)
            if length > MAX_CAR_BLOCK or pos + length > len(data):
                raise StorageError("CAR section too large or truncated")
            cid, body_pos = CID.read(data, pos)
            block = data[body_pos : pos + length]
            cid.verify(block)
            blocks.append(Block(cid, block))
            pos += length
        return roots, blocks
    except IndexError:
        raise StorageError("truncated CAR") from None


def _parse_roots(header: bytes) -> list[CID]:
    marker = b"\x65roots"
    at = header.find(marker)
    if at < 0 or b"\x67version\x01" not in header:
        raise StorageError("not a CARv1 header")
    pos = at + len(marker)
    count = header[pos] & 0x1F
    pos += 1
    roots = []
    for _ in range(count):
        if header[pos : pos + 2] != b"\xd8\x2a":
            raise StorageError("CAR root is not a CID")
        pos += 2
        head = header[pos]
        if head & 0x1F < 24:
            n, pos = head & 0x1F, pos + 1
        else:
            n, pos = header[pos + 1], pos + 2
        raw = header[pos : pos + n]
        roots.append(CID.from_bytes(raw[1:]))
        pos += n
    return roots
