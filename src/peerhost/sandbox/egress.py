"""The egress proxy: the only way out of a sandbox that declares network hosts.

Each sandbox gets its own Unix socket (bound into the sandbox); a forwarder inside the sandbox
exposes it as an HTTP proxy on 127.0.0.1. The proxy accepts `CONNECT host:port` (HTTPS) and
absolute-form plain HTTP requests, allows only the manifest's hosts, refuses private and loopback
addresses (no SSRF into the worker's network) and records every call.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

MAX_HEADER = 16 * 1024
CONNECT_TIMEOUT = 10


@dataclass
class EgressCall:
    host: str
    port: int
    method: str
    allowed: bool
    reason: str = ""
    bytes_sent: int = 0
    bytes_received: int = 0

    def to_json(self) -> dict:
        return {"host": self.host, "port": self.port, "method": self.method, "allowed": self.allowed,
                "reason": self.reason, "bytes_sent": self.bytes_sent, "bytes_received": self.bytes_received}  # fmt: skip


def host_allowed(host: str, port: int, allowed: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    for rule in allowed:
        name, _, rule_port = rule.partition(":")
        if rule_port and int(rule_port) != port:
            continue
        if not rule_port and port not in (80, 443):
            continue
        if name.startswith("*."):
            if host.endswith(name[1:]) and host != name[2:]:
                return True
        elif host == name:
            return True
    return False


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


@dataclass
class EgressListener:
    path: Path
    allowed: tuple[str, ...] = ()
    allow_private: bool = False
    calls: list[EgressCall] = field(default_factory=list)
    server: asyncio.AbstractServer | None = None


class EgressProxy:
    """One asyncio loop in a background thread serving every sandbox's egress socket."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="peerhost-egress", daemon=True)
        self._thread.start()

    def open(self, path: Path, uid: int, allowed: tuple[str, ...], allow_private: bool = False) -> EgressListener:
        """Starts listening on `path` (connectable by `uid`) for a sandbox allowed to reach `allowed`."""
        listener = EgressListener(Path(path), tuple(allowed), allow_private)
        future = asyncio.run_coroutine_threadsafe(self._start(listener, uid), self._loop)
        future.result(timeout=10)
        return listener

    async def _start(self, listener: EgressListener, uid: int) -> None:
        listener.server = await asyncio.start_unix_server(lambda r, w: self._handle(listener, r, w), str(listener.path))
        os.chown(listener.path, uid, uid)
        os.chmod(listener.path, 0o600)

    def close(self, listener: EgressListener) -> None:
        if listener.server is not None:
            server = listener.server
            listener.server = None

            async def stop() -> None:
                server.close()

            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=10)
        listener.path.unlink(missing_ok=True)

    def shutdown(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _handle(self, listener: EgressListener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        call: EgressCall | None = None
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
            if len(head) > MAX_HEADER:
                raise ValueError("header too large")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
            if method.upper() == "CONNECT":
                host, _, port_text = target.rpartition(":")
                port = int(port_text)
                forward = b""
            else:
                url = urlsplit(target)
                if url.scheme != "http" or not url.hostname:
                    raise ValueError("only absolute http:// URLs and CONNECT are proxied")
                host, port = url.hostname, url.port or 80
                path = (url.path or "/") + (f"?{url.query}" if url.query else "")
                kept = [line for line in header_lines if line and not line.lower().startswith("proxy-")]
                forward = (f"{method} {path} {version}\r\n" + "\r\n".join(kept) + "\r\n\r\n").encode("latin-1")
            host = host.strip("[]")
            call = EgressCall(host, port, method.upper(), False)
            listener.calls.append(call)
            if not host_allowed(host, port, listener.allowed):
                call.reason = "host not in the function's network allow-list"
                await self._refuse(writer, 403, call.reason)
                return
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            addresses = [info[4][0] for info in infos]
            if not listener.allow_private and not all(_is_public(a) for a in addresses):
                call.reason = "destination resolves to a private or loopback address"
                await self._refuse(writer, 403, call.reason)
                return
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(addresses[0], port), CONNECT_TIMEOUT)
            call.allowed = True
            if method.upper() == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                up_writer.write(forward)
                call.bytes_sent += len(forward)
            await asyncio.gather(self._pump(reader, up_writer, call, "bytes_sent"),
                                 self._pump(up_reader, writer, call, "bytes_received"))  # fmt: skip
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
            if call is not None and not call.allowed and not call.reason:
                call.reason = f"cannot connect: {exc}"
            try:
                await self._refuse(writer, 502, "bad gateway")
            except OSError:
                pass
        finally:
            writer.close()

    @staticmethod
    async def _refuse(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
        body = f"peerhost egress: {reason}\n".encode()
        writer.write(f"HTTP/1.1 {status} {'Forbidden' if status == 403 else 'Bad Gateway'}\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)  # fmt: skip
        await writer.drain()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, call: EgressCall, counter: str) -> None:
        try:
            while data := await reader.read(65536):
                setattr(call, counter, getattr(call, counter) + len(data))
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            try:
                writer.write_eof()
            except (OSError, RuntimeError):
                pass


