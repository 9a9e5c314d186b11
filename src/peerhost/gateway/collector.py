"""Collecting workers' signed results for the gateway's requests, and deciding when to answer.

`fastest` answers with the first valid result; `quorum` once a strict majority of `redundancy`
workers agree (the contract's own finalization rule: one lying worker must not stall the answer);
`finalized` once the contract finalized the request (with the result whose hash won).
A result is valid when its hash matches its document, its EIP-712 receipt is signed by the worker
it names, the worker is active and staked on-chain, and its input and code hashes are the request's.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from peerhost.protocol.documents import ResultDoc


@dataclass
class Delivery:
    worker: str
    result: ResultDoc
    result_hash: bytes
    input_hash: bytes
    code_hash: bytes
    logs: str
    received: float = field(default_factory=time.monotonic)


@dataclass
class Pending:
    request_id: int
    input_hash: bytes
    code_hash: bytes
    policy: str
    redundancy: int
    done: asyncio.Future
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    finalized_hash: bytes | None = None


class Collector:
    def __init__(self) -> None:
        self._pending: dict[int, Pending] = {}
        self._early: dict[int, list[Delivery]] = {}  # results that arrived before the request's receipt
        self._finalized: dict[int, bytes] = {}

    def expect(self, request_id: int, input_hash: bytes, code_hash: bytes, policy: str, redundancy: int) -> Pending:
        pending = Pending(request_id, input_hash, code_hash, policy, redundancy, asyncio.get_running_loop().create_future())
        self._pending[request_id] = pending
        for delivery in self._early.pop(request_id, []):
            self._accept(pending, delivery)
        if request_id in self._finalized:
            self.finalized(request_id, self._finalized.pop(request_id))
        return pending

    def forget(self, request_id: int) -> None:
        self._pending.pop(request_id, None)

    def deliver(self, request_id: int, delivery: Delivery) -> str:
        """Takes a verified delivery; returns how it was used."""
        pending = self._pending.get(request_id)
        if pending is None:
            early = self._early.setdefault(request_id, [])
            if len(early) < 16:
                early.append(delivery)
            if len(self._early) > 10_000:
                self._early.pop(next(iter(self._early)))
            return "held"
        return self._accept(pending, delivery)

    def _accept(self, pending: Pending, delivery: Delivery) -> str:
        if delivery.input_hash != pending.input_hash or delivery.code_hash != pending.code_hash:
            return "mismatch"
        pending.deliveries.setdefault(delivery.worker, delivery)
        self._decide(pending)
        return "accepted"

    def finalized(self, request_id: int, result_hash: bytes) -> None:
        pending = self._pending.get(request_id)
        if pending is None:
            self._finalized[request_id] = result_hash
            if len(self._finalized) > 10_000:
                self._finalized.pop(next(iter(self._finalized)))
            return
        pending.finalized_hash = result_hash
        self._decide(pending)

    def _decide(self, pending: Pending) -> None:
        if pending.done.done():
            return
        deliveries = list(pending.deliveries.values())
        if pending.policy == "fastest" and deliveries:
            pending.done.set_result(deliveries[0])
        elif pending.policy == "quorum":
            votes: dict[bytes, list[Delivery]] = {}
            for d in deliveries:
                votes.setdefault(d.result_hash, []).append(d)
            for group in votes.values():
                if len(group) >= pending.redundancy // 2 + 1:
                    pending.done.set_result(group[0])
                    return
        elif pending.policy == "finalized" and pending.finalized_hash is not None:
            for d in deliveries:
                if d.result_hash == pending.finalized_hash:
                    pending.done.set_result(d)
                    return
