"""The request/response model functions are written against: `from peerhost import Response`.

Pure standard library: this file is also copied verbatim into every sandbox as the module
`peerhost`, so that function code imports the same classes in the sandbox and on a laptop.
"""

from __future__ import annotations

import json as _json
import sys as _sys

__all__ = ["Request", "Response", "Context", "to_http"]


class Request:
    """An HTTP request: method, path, query (first value per key), headers (lowercase), body."""

    def __init__(self, method: str = "GET", path: str = "/", query: list | None = None,
                 headers: dict | None = None, body: bytes = b"") -> None:  # fmt: skip
        self.method = method.upper()
        self.path = path
        self.query_params: list[tuple[str, str]] = [(str(k), str(v)) for k, v in (query or [])]
        self.query: dict[str, str] = {}
        for key, value in self.query_params:
            self.query.setdefault(key, value)
        self.headers: dict[str, str] = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        self.body: bytes = body

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> object:
        """The body parsed as JSON (None for an empty body); ValueError when it is not JSON."""
        if not self.body:
            return None
        return _json.loads(self.body)

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path})"


class Response:
    """An explicit response. `body` may be bytes, str, or anything JSON-serializable."""

    def __init__(self, body: object = b"", status: int = 200, headers: dict | None = None) -> None:
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"invalid HTTP status {status!r}")
        self.body = body
        self.status = status
        self.headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}


class Context:
    """Deterministic context for consensus: every worker sees the same values for a request."""

    def __init__(self, request_id: str = "0", timestamp: int = 0, env: dict | None = None) -> None:
        self.request_id = str(request_id)
        self.timestamp = int(timestamp)
        self.env: dict[str, str] = dict(env or {})
        self._now = None
        self._random = None

    @property
    def now(self):
        """The request's time (UTC), the same on every worker."""
        if self._now is None:
            import datetime

            self._now = datetime.datetime.fromtimestamp(self.timestamp, tz=datetime.timezone.utc)
        return self._now

    @property
    def random(self):
        """A random.Random seeded from the request id: the same sequence on every worker."""
        if self._random is None:
            import hashlib
            import random

            seed = int.from_bytes(hashlib.sha256(f"peerhost:{self.request_id}".encode()).digest()[:8], "big")
            self._random = random.Random(seed)
        return self._random

    def log(self, *parts: object) -> None:
        print(*parts, file=_sys.stderr, flush=True)


def _json_body(value: object) -> bytes:
    return _json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def to_http(result: object) -> tuple[int, dict[str, str], bytes]:
    """What a handler returned, as (status, headers, body)."""
    status, headers, body = 200, {}, result
    if isinstance(result, Response):
        status, headers, body = result.status, dict(result.headers), result.body
    if body is None:
        return (204 if status == 200 else status), headers, b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        headers.setdefault("content-type", "application/octet-stream")
        return status, headers, bytes(body)
    if isinstance(body, str):
        headers.setdefault("content-type", "text/plain; charset=utf-8")
        return status, headers, body.encode()
    try:
        encoded = _json_body(body)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the handler returned {type(body).__name__}, which is not JSON-serializable: {exc}") from None
    headers.setdefault("content-type", "application/json")
    return status, headers, encoded
