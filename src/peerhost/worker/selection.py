"""Which workers run a request: rendezvous (highest-random-weight) hashing over the active set.

Every worker computes the same ranking from the request id and the active worker addresses, so the
first `redundancy` of it run the call at once and the others only step in when commits are still
missing after a grace period."""

from __future__ import annotations

from web3 import Web3


def score(request_id: int, worker: str) -> int:
    return int.from_bytes(Web3.solidity_keccak(["uint256", "address"], [request_id, Web3.to_checksum_address(worker)]), "big")


def ranking(request_id: int, workers: list[str]) -> list[str]:
    return sorted(workers, key=lambda w: score(request_id, w), reverse=True)


def rank_of(request_id: int, workers: list[str], me: str) -> int | None:
    order = ranking(request_id, workers)
    return order.index(me) if me in order else None
