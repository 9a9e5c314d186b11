"""A reliable stream of a contract's logs: WebSocket subscription, reconnect, back-fill.

On every (re)connect the stream first fetches the logs from the block after the last one it
delivered (eth_getLogs), then follows the live subscription; logs seen twice (the overlap of
back-fill and subscription) are delivered once. A cut connection therefore loses nothing.
Without a WebSocket URL it polls eth_getLogs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import websockets

from peerhost.chain.rpc import RPC

log = logging.getLogger("peerhost.events")
BACKFILL_CHUNK = 2_000


def _key(entry: dict[str, Any]) -> tuple[int, int]:
    return int(entry["blockNumber"], 16), int(entry["logIndex"], 16)


class LogStream:
    def __init__(self, rpc: RPC, address: str, *, ws_url: str | None = None, from_block: int = 0,
                 poll_interval: float = 0.2, topics: list[str] | None = None) -> None:  # fmt: skip
        self.topics = [topics] if topics else []  # any of these event signatures
        self.rpc = rpc
        self.address = address
        self.ws_url = ws_url
        self.next_block = from_block  # the first block not yet fully delivered
        self.poll_interval = poll_interval
        self._seen: set[tuple[int, int]] = set()
        self.reconnects = 0
        self.connected = asyncio.Event()
        self._cut = asyncio.Event()

    def cut(self) -> None:
        """Drops the current WebSocket connection (it reconnects and back-fills)."""
        self._cut.set()

    async def _backfill(self) -> list[dict[str, Any]]:
        head = await self.rpc.block_number()
        out: list[dict[str, Any]] = []
        start = self.next_block
        while start <= head:
            end = min(head, start + BACKFILL_CHUNK - 1)
            out += await self.rpc.get_logs(self.address, self.topics, start, end)
            start = end + 1
        return out

    def _fresh(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for entry in sorted(entries, key=_key):
            if entry.get("removed"):
                continue
            key = _key(entry)
            if key in self._seen:
                continue
            self._seen.add(key)
            out.append(entry)
        if len(self._seen) > 50_000:  # forget what lies well behind
            floor = self.next_block - 64
            self._seen = {k for k in self._seen if k[0] >= floor}
        return out

    def mark_delivered(self, block: int) -> None:
        self.next_block = max(self.next_block, block)

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        if not self.ws_url:
            async for entry in self._poll():
                yield entry
            return
        delay = 0.1
        while True:
            try:
                async with websockets.connect(self.ws_url, max_size=None, ping_interval=10) as ws:
                    await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe",
                                              "params": ["logs", {"address": self.address, "topics": self.topics}]}))  # fmt: skip
                    reply = json.loads(await ws.recv())
                    if "error" in reply:
                        raise ConnectionError(f"eth_subscribe refused: {reply['error']}")
                    for entry in self._fresh(await self._backfill()):
                        yield entry
                    self.connected.set()
                    delay = 0.1
                    self._cut.clear()
                    while True:
                        recv = asyncio.ensure_future(ws.recv())
                        cut = asyncio.ensure_future(self._cut.wait())
                        done, _ = await asyncio.wait({recv, cut}, return_when=asyncio.FIRST_COMPLETED)
                        if cut in done:
                            recv.cancel()
                            raise ConnectionError("connection cut on request")
                        cut.cancel()
                        message = json.loads(recv.result())
                        entry = message.get("params", {}).get("result")
                        if entry:
                            for fresh in self._fresh([entry]):
                                yield fresh
            except (OSError, ConnectionError, websockets.WebSocketException, asyncio.TimeoutError) as exc:
                self.connected.clear()
                self.reconnects += 1
                log.warning("event stream disconnected (%s); reconnecting in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)  # rejoin fast: a primary has only its window to answer

    async def _poll(self) -> AsyncIterator[dict[str, Any]]:
        self.connected.set()
        while True:
            try:
                head = await self.rpc.block_number()
                if head >= self.next_block:
                    entries = await self._backfill()
                    for entry in self._fresh(entries):
                        yield entry
                    self.mark_delivered(head + 1)
            except OSError as exc:
                log.warning("polling logs failed: %s", exc)
            await asyncio.sleep(self.poll_interval)
