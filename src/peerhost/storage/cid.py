"""Content identifiers (CIDv0 and CIDv1 with sha2-256), as Kubo writes them.

CIDv0 is the base58btc multihash of a dag-pb node ("Qm…"); CIDv1 is
<version><codec><multihash>, written in base32 ("b…"): "bafk…" for raw blocks, "bafy…" for dag-pb.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from peerhost.storage.errors import InvalidCID

RAW = 0x55
DAG_PB = 0x70
SHA2_256 = 0x12
_CODECS = {RAW: "raw", DAG_PB: "dag-pb"}

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_B58[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    n = 0
    for c in text:
        try:
            n = n * 58 + _B58_INDEX[c]
        except KeyError:
            raise InvalidCID(f"invalid base58 character {c!r}") from None
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + body


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes, pos: int = 0) -> tuple[int, int]:
    """Decodes an unsigned LEB128 varint at `pos`; returns (value, next position)."""
    result = shift = 0
    while True:
        if pos >= len(data):
            raise InvalidCID("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise InvalidCID("varint too long")


@dataclass(frozen=True, order=True)
class CID:
    """A CID with a sha2-256 multihash."""

    version: int
    codec: int
    digest: bytes

    def __post_init__(self) -> None:
        if self.version not in (0, 1):
            raise InvalidCID(f"unsupported CID version {self.version}")
        if self.codec not in _CODECS:
            raise InvalidCID(f"unsupported codec 0x{self.codec:x}: PeerHost stores raw and dag-pb blocks")
        if self.version == 0 and self.codec != DAG_PB:
            raise InvalidCID("a CIDv0 is always dag-pb")
        if len(self.digest) != 32:
            raise InvalidCID("a sha2-256 digest is 32 bytes")

    @classmethod
    def of(cls, data: bytes, codec: int = RAW, version: int = 1) -> CID:
        """The CID of the block `data`."""
        return cls(version, codec, hashlib.sha256(data).digest())

    @property
    def multihash(self) -> bytes:
        return bytes([SHA2_256, 32]) + self.digest

    @property
    def codec_name(self) -> str:
        return _CODECS[self.codec]

    def to_bytes(self) -> bytes:
        """Binary form (as stored in dag-pb links and on-chain)."""
        if self.version == 0:
            return self.multihash
        return encode_varint(1) + encode_varint(self.codec) + self.multihash

    def to_v1(self) -> CID:
        return CID(1, self.codec, self.digest)

    def verify(self, data: bytes) -> None:
        """Raises IntegrityError unless `data` hashes to this CID."""
        from peerhost.storage.errors import IntegrityError

        if hashlib.sha256(data).digest() != self.digest:
            raise IntegrityError(f"data does not match {self}: refusing to return it")

    def __str__(self) -> str:
        if self.version == 0:
            return b58encode(self.multihash)
        return "b" + base64.b32encode(self.to_bytes()).decode().lower().rstrip("=")

    def __repr__(self) -> str:
        return f"CID({self})"

    @classmethod
    def parse(cls, text: str) -> CID:
        """Parses a CID string: CIDv0 ("Qm…") or CIDv1 in base32 ("b…") or base58btc ("z…")."""
        if not isinstance(text, str) or not text:
            raise InvalidCID("empty CID")
        if len(text) == 46 and text.startswith("Qm"):
            return cls.from_bytes(b58decode(text))
        prefix, body = text[0], text[1:]
        if prefix == "b":
            if body != body.lower():
                raise InvalidCID(f"{text!r}: base32 CIDs are lowercase")
            try:
                raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
            except ValueError:
                raise InvalidCID(f"{text!r} is not valid base32") from None
        elif prefix == "z":
            raw = b58decode(body)
        else:
            raise InvalidCID(f"{text!r} is not a CID (expected Qm…, b… or z…)")
        return cls.from_bytes(raw)

    @classmethod
    def from_bytes(cls, raw: bytes) -> CID:
        """Parses a binary CID (exactly one, nothing after it)."""
        cid, end = cls.read(raw, 0)
        if end != len(raw):
            raise InvalidCID("trailing bytes after CID")
        return cid

    @classmethod
    def read(cls, raw: bytes, pos: int) -> tuple[CID, int]:
        """Reads a binary CID at `pos`; returns it and the position after it."""
        if raw[pos : pos + 2] == bytes([SHA2_256, 32]):
            digest = raw[pos + 2 : pos + 34]
            if len(digest) != 32:
                raise InvalidCID("truncated CIDv0")
            return cls(0, DAG_PB, digest), pos + 34
        version, pos = decode_varint(raw, pos)
        if version != 1:
            raise InvalidCID(f"unsupported CID version {version}")
        codec, pos = decode_varint(raw, pos)
        code, pos = decode_varint(raw, pos)
        length, pos = decode_varint(raw, pos)
        if code != SHA2_256 or length != 32:
            raise InvalidCID("only sha2-256 multihashes are supported")
        digest = raw[pos : pos + 32]
        if len(digest) != 32:
            raise InvalidCID("truncated CID digest")
        return cls(1, codec, digest), pos + 32
