"""UnixFS files over dag-pb, built exactly as Kubo's `ipfs add` builds them.

Kubo's defaults: fixed 256 KiB chunks, a balanced DAG of at most 174 links per node; CIDv0 uses
dag-pb UnixFS "file" leaves, CIDv1 (`--cid-version=1`) raw leaves. A file of one chunk is its own
root. The importer streams: memory holds at most one chunk and 174 links per tree level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from peerhost.storage.cid import CID, DAG_PB, RAW, decode_varint, encode_varint
from peerhost.storage.errors import StorageError

CHUNK_SIZE = 256 * 1024
MAX_LINKS = 174

# UnixFS Data.DataType
UNIXFS_RAW = 0
UNIXFS_FILE = 2


class DagError(StorageError):
    """A block is not a well-formed dag-pb / UnixFS file node."""


# ----------------------------------------------------------------- protobuf


def _field_bytes(number: int, value: bytes) -> bytes:
    return encode_varint(number << 3 | 2) + encode_varint(len(value)) + value


def _field_varint(number: int, value: int) -> bytes:
    return encode_varint(number << 3) + encode_varint(value)


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yields (field number, wire type, value) of a protobuf message."""
    pos = 0
    try:
        while pos < len(data):
            key, pos = decode_varint(data, pos)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, pos = decode_varint(data, pos)
                yield number, wire, value
            elif wire == 2:
                length, pos = decode_varint(data, pos)
                if pos + length > len(data):
                    raise DagError("truncated protobuf field")
                yield number, wire, data[pos : pos + length]
                pos += length
            else:
                raise DagError(f"unsupported protobuf wire type {wire}")
    except StorageError as exc:
        if isinstance(exc, DagError):
            raise
        raise DagError(f"malformed protobuf: {exc}") from None


# ------------------------------------------------------------------- dag-pb


@dataclass(frozen=True)
class Link:
    cid: CID
    tsize: int
    name: str = ""


@dataclass(frozen=True)
class PBNode:
    links: tuple[Link, ...] = ()
    data: bytes | None = None

    def encode(self) -> bytes:
        """Canonical dag-pb: links first, then data (as go-merkledag and js-dag-pb write it)."""
        out = bytearray()
        for link in self.links:
            body = _field_bytes(1, link.cid.to_bytes()) + _field_bytes(2, link.name.encode()) + _field_varint(3, link.tsize)
            out += _field_bytes(2, body)
        if self.data is not None:
            out += _field_bytes(1, self.data)
        return bytes(out)

    @classmethod
    def decode(cls, block: bytes) -> PBNode:
        links: list[Link] = []
        data = None
        for number, wire, value in _fields(block):
            if number == 2 and wire == 2:
                assert isinstance(value, bytes)
                cid = None
                name, tsize = "", 0
                for n, w, v in _fields(value):
                    if n == 1 and w == 2:
                        assert isinstance(v, bytes)
                        cid = CID.from_bytes(v)
                    elif n == 2 and w == 2:
                        assert isinstance(v, bytes)
                        name = v.decode("utf-8", "replace")
                    elif n == 3 and w == 0:
                        assert isinstance(v, int)
                        tsize = v
                if cid is None:
                    raise DagError("dag-pb link without a hash")
                links.append(Link(cid, tsize, name))
            elif number == 1 and wire == 2:
                assert isinstance(value, bytes)
                data = value
            else:
                raise DagError(f"unexpected dag-pb field {number}")
        return cls(tuple(links), data)


@dataclass(frozen=True)
class UnixFSData:
    type: int
    data: bytes = b""
    filesize: int | None = None
    blocksizes: tuple[int, ...] = ()

    def encode(self) -> bytes:
        out = _field_varint(1, self.type)
        if self.data:
            out += _field_bytes(2, self.data)
        if self.filesize is not None:
            out += _field_varint(3, self.filesize)
        for size in self.blocksizes:  # proto2 `repeated uint64`, not packed
            out += _field_varint(4, size)
        return out

    @classmethod
    def decode(cls, raw: bytes) -> UnixFSData:
        type_, data, filesize, sizes = None, b"", None, []
        for number, wire, value in _fields(raw):
            if number == 1 and wire == 0:
                type_ = value
            elif number == 2 and wire == 2:
                data = value
            elif number == 3 and wire == 0:
                filesize = value
            elif number == 4 and wire == 0:
                sizes.append(value)
            elif number == 4 and wire == 2:  # tolerate packed encoding
                assert isinstance(value, bytes)
                pos = 0
                while pos < len(value):
                    v, pos = decode_varint(value, pos)
                    sizes.append(v)
        if type_ is None:
            raise DagError("UnixFS data without a type")
        assert isinstance(data, bytes)
        return cls(int(type_), data, filesize, tuple(sizes))  # type: ignore[arg-type]


# ----------------------------------------------------------------- importer


@dataclass(frozen=True)
class Block:
    cid: CID
    data: bytes


@dataclass
class _Entry:
    cid: CID
    tsize: int  # cumulative serialized size of the subtree
    filesize: int  # bytes of file content below


@dataclass
class FileImporter:
    """Builds a file DAG chunk by chunk; hands every finished block to `emit`."""

    cid_version: int = 0
    emit: Callable[[Block], None] = lambda _block: None
    chunk_size: int = CHUNK_SIZE
    max_links: int = MAX_LINKS
    _levels: list[list[_Entry]] = field(default_factory=list)
    _buffer: bytearray = field(default_factory=bytearray)
    _chunks: int = 0
    size: int = 0

    def __post_init__(self) -> None:
        if self.cid_version not in (0, 1):
            raise StorageError("cid version must be 0 or 1")

    @property
    def raw_leaves(self) -> bool:
        return self.cid_version == 1

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= self.chunk_size:
            chunk = bytes(self._buffer[: self.chunk_size])
            del self._buffer[: self.chunk_size]
            self._add_leaf(chunk)

    def finish(self) -> CID:
        """Completes the DAG and returns the root CID."""
        if self._buffer or self._chunks == 0:
            self._add_leaf(bytes(self._buffer))
            self._buffer.clear()
        level = 0
        while True:
            entries = self._levels[level]
            is_top = level == len(self._levels) - 1
            if is_top and len(entries) == 1:
                return entries[0].cid
            if entries:
                self._push(level + 1, self._parent(entries))
                self._levels[level] = []
            level += 1

    def _add_leaf(self, chunk: bytes) -> None:
        self._chunks += 1
        if self.raw_leaves:
            block = Block(CID.of(chunk, RAW, 1), chunk)
        else:
            node = PBNode(data=UnixFSData(UNIXFS_FILE, chunk, len(chunk)).encode()).encode()
            block = Block(CID.of(node, DAG_PB, 0), node)
        self.emit(block)
        self._push(0, _Entry(block.cid, len(block.data), len(chunk)))

    def _push(self, level: int, entry: _Entry) -> None:
        while len(self._levels) <= level:
            self._levels.append([])
        self._levels[level].append(entry)
        if len(self._levels[level]) == self.max_links:
            parent = self._parent(self._levels[level])
            self._levels[level] = []
            self._push(level + 1, parent)

    def _parent(self, children: list[_Entry]) -> _Entry:
        filesize = sum(c.filesize for c in children)
        data = UnixFSData(UNIXFS_FILE, b"", filesize, tuple(c.filesize for c in children)).encode()
        node = PBNode(tuple(Link(c.cid, c.tsize) for c in children), data).encode()
        cid = CID.of(node, DAG_PB, self.cid_version)
        self.emit(Block(cid, node))
        return _Entry(cid, len(node) + sum(c.tsize for c in children), filesize)


def import_bytes(data: bytes, cid_version: int = 1) -> tuple[CID, list[Block]]:
    """Imports `data` in memory; returns the root CID and every block."""
    blocks: list[Block] = []
    importer = FileImporter(cid_version, blocks.append)
    importer.write(data)
    return importer.finish(), blocks


def import_stream(chunks: Iterable[bytes], cid_version: int = 1, emit: Callable[[Block], None] = lambda b: None) -> CID:
    """Imports a stream of byte chunks (any sizes); returns the root CID."""
    importer = FileImporter(cid_version, emit)
    for chunk in chunks:
        importer.write(chunk)
    return importer.finish()


def file_chunks(node_cid: CID, block: bytes) -> tuple[bytes, list[CID]]:
    """The content held in a file block and the CIDs of its children, in order."""
    if node_cid.codec == RAW:
        return block, []
    node = PBNode.decode(block)
    if node.data is None:
        raise DagError(f"{node_cid} is a dag-pb node without UnixFS data")
    unixfs = UnixFSData.decode(node.data)
    if unixfs.type not in (UNIXFS_FILE, UNIXFS_RAW):
        raise DagError(f"{node_cid} is not a UnixFS file (type {unixfs.type})")
    if node.links and len(unixfs.blocksizes) != len(node.links):
        raise DagError(f"{node_cid}: blocksizes do not match its links")
    return unixfs.data, [link.cid for link in node.links]
