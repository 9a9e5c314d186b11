"""The invocation and result documents: what a request asks and what a worker answers.

Invocation: {v, function: {owner, project, name, version, code}, http: {method, path, query, headers,
body}, timestamp}; result: {v, status, headers, body, error?}. Bodies are base64; headers are
lowercased and allow-listed (never authorization or cookie). Both are hashed as canonical JSON
(RFC 8785): inputHash and resultHash.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from peerhost.protocol.canonical import canonical_hash, canonical_json

VERSION = 1
#: Request headers a function sees. Credentials (authorization, cookie, payment headers) never pass.
FORWARDED_HEADERS = frozenset({
    "accept", "accept-language", "content-type", "user-agent", "x-request-id", "if-none-match",
    "if-modified-since", "origin", "referer",
})  # fmt: skip
#: Response headers a function may set.
RESPONSE_HEADERS = frozenset({"content-type", "cache-control", "etag", "last-modified", "location", "vary",
                              "content-language", "content-disposition"})  # fmt: skip


def forwarded_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in headers:
        key = key.lower()
        if key in FORWARDED_HEADERS or (key.startswith("x-") and not key.startswith(("x-peerhost", "x-payment"))):
            out[key] = value if key not in out else f"{out[key]}, {value}"
    return out


@dataclass(frozen=True)
class InvocationDoc:
    owner: str
    project: str
    name: str
    version: int
    code: str  # CID of the bundle
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes
    timestamp: int

    def to_json(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "function": {"owner": self.owner.lower(), "project": self.project, "name": self.name,
                         "version": self.version, "code": self.code},
            "http": {"method": self.method, "path": self.path, "query": [list(q) for q in self.query],
                     "headers": dict(self.headers), "body": base64.b64encode(self.body).decode()},
            "timestamp": self.timestamp,
        }  # fmt: skip

    def encode(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InvocationDoc:
        if data.get("v") != VERSION:
            raise ValueError(f"unsupported invocation document version {data.get('v')!r}")
        fn, http = data["function"], data["http"]
        return cls(fn["owner"], fn["project"], fn["name"], int(fn["version"]), fn["code"], http["method"], http["path"],
                   tuple((str(k), str(v)) for k, v in http["query"]), {str(k): str(v) for k, v in http["headers"].items()},
                   base64.b64decode(http["body"], validate=True), int(data["timestamp"]))  # fmt: skip


@dataclass(frozen=True)
class ResultDoc:
    status: int
    headers: dict[str, str]
    body: bytes
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"v": VERSION, "status": self.status, "headers": dict(self.headers),
                               "body": base64.b64encode(self.body).decode()}  # fmt: skip
        if self.error is not None:
            doc["error"] = self.error
        return doc

    def encode(self) -> bytes:
        return canonical_json(self.to_json())

    def hash(self) -> bytes:
        return canonical_hash(self.to_json())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResultDoc:
        if data.get("v") != VERSION:
            raise ValueError(f"unsupported result document version {data.get('v')!r}")
        headers = data.get("headers", {})
        if not isinstance(headers, dict):
            raise ValueError("headers must be an object")
        return cls(int(data["status"]), {str(k): str(v) for k, v in headers.items()},
                   base64.b64decode(data.get("body", ""), validate=True), data.get("error"))  # fmt: skip

    @classmethod
    def from_execution(cls, status: int, headers: dict[str, str], body: bytes, error: str | None) -> ResultDoc:
        kept = {k.lower(): v for k, v in headers.items() if k.lower() in RESPONSE_HEADERS}
        if error is not None:
            return cls(500, {}, b"", error)
        return cls(status, kept, body, None)
