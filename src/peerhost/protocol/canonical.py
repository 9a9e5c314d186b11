"""RFC 8785 (JSON Canonicalization Scheme) for the documents PeerHost hashes.

Object members sorted by their UTF-16 code units, no insignificant whitespace, strings escaped as
ECMAScript does. PeerHost documents hold strings, integers, booleans, null, lists and objects;
floats are refused rather than risk two workers serialising them differently.
"""

from __future__ import annotations

import hashlib
from typing import Any

from peerhost.errors import PeerHostError

MAX_SAFE_INTEGER = 2**53 - 1


class CanonicalError(PeerHostError):
    """A value cannot be put in canonical JSON."""


def _string(value: str) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20:
            out.append({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}.get(code, f"\\u{code:04x}"))
        elif 0xD800 <= code <= 0xDFFF:
            raise CanonicalError("lone surrogate in string")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError(f"integer {value} is outside the range JSON numbers represent exactly")
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise CanonicalError(f"object keys must be strings, not {type(key).__name__}")
        out.append("{")
        for i, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be"))):
            if i:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    else:
        raise CanonicalError(f"{type(value).__name__} has no canonical JSON form here")


def canonical_json(value: Any) -> bytes:
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def canonical_hash(value: Any) -> bytes:
    """sha-256 of the canonical JSON: the hash committed on-chain."""
    return hashlib.sha256(canonical_json(value)).digest()
