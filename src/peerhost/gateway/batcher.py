"""Sending execution requests: one transaction when idle, batches under load.

While a request transaction is in flight, new requests queue; when it is mined, everything queued
goes in one `requestExecutionBatch` (up to `max_batch`). Under light load each request is sent at
once; under heavy load the 21k base cost is shared.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from peerhost.chain.coordinator import Coordinator, ExecutionRequested


@dataclass
class _Item:
    function_id: bytes
    input_hash: bytes
    future: asyncio.Future


class RequestBatcher:
    def __init__(self, coordinator: Coordinator, *, max_batch: int = 32, max_in_flight: int = 4) -> None:
        self.coordinator = coordinator
        self.max_batch = max_batch
        self._queue: list[_Item] = []
        self._slots = asyncio.Semaphore(max_in_flight)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.batches_sent = 0  # requestExecutionBatch transactions
        self.singles_sent = 0  # requestExecution transactions
        self.batched_requests = 0  # requests that went in a batch

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()

    async def request(self, function_id: bytes, input_hash: bytes) -> ExecutionRequested:
        item = _Item(function_id, input_hash, asyncio.get_running_loop().create_future())
        self._queue.append(item)
        self._wakeup.set()
        return await item.future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                await self._slots.acquire()
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                asyncio.create_task(self._send(batch))

    async def _send(self, batch: list[_Item]) -> None:
        try:
            if len(batch) == 1:
                receipt = await self.coordinator.transact("requestExecution", batch[0].function_id, batch[0].input_hash)
                self.singles_sent += 1
            else:
                receipt = await self.coordinator.transact(
                    "requestExecutionBatch", [i.function_id for i in batch], [i.input_hash for i in batch], items=len(batch)
                )
                self.batches_sent += 1
                self.batched_requests += len(batch)
            events = [Coordinator.execution_requested(args) for name, args in self.coordinator.events_in(receipt)
                      if name == "ExecutionRequested"]  # fmt: skip
            for item, event in zip(batch, events, strict=True):
                if not item.future.done():
                    item.future.set_result(event)
        except Exception as exc:  # noqa: BLE001 - every waiter learns why
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
        finally:
            self._slots.release()
            if self._queue:
                self._wakeup.set()
