"""A small async JSON-RPC client for EVM nodes, and a transaction sender with a local nonce.

Workers and gateways send many transactions from one key; the nonce is kept locally (under a lock)
and resynchronised from the node when a send fails, so transactions pipeline instead of waiting for
each other's receipts.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from peerhost.chain.errors import ChainError


class RPCError(ChainError):
    """The node answered a JSON-RPC call with an error."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.code = error.get("code")
        self.data = error.get("data")
        super().__init__(f"{method}: {error.get('message', error)}")


class RPC:
    """JSON-RPC over HTTP with retries on dropped connections."""

    def __init__(self, url: str, *, timeout: float = 30, retries: int = 5) -> None:
        self.url = url
        self.retries = retries
        self._ids = itertools.count(1)
        self._client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=64))

    async def call(self, method: str, *params: Any) -> Any:
        payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        delay = 0.1
        for attempt in range(self.retries + 1):
            try:
                response = await self._client.post(self.url, json=payload)
                data = response.json()
                break
            except (httpx.TransportError, ValueError) as exc:
                if attempt == self.retries:
                    raise ChainError(f"RPC {self.url} unreachable ({method}): {exc}") from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2)
        if "error" in data:
            raise RPCError(method, data["error"])
        return data["result"]

    async def chain_id(self) -> int:
        return int(await self.call("eth_chainId"), 16)

    async def block_number(self) -> int:
        return int(await self.call("eth_blockNumber"), 16)

    async def eth_call(self, to: str, data: str, block: str = "latest") -> HexBytes:
        return HexBytes(await self.call("eth_call", {"to": to, "data": data}, block))

    async def get_logs(self, address: str, topics: list, from_block: int, to_block: int) -> list[dict]:
        return await self.call("eth_getLogs", {"address": address, "topics": topics,
                                               "fromBlock": hex(from_block), "toBlock": hex(to_block)})  # fmt: skip

    async def receipt(self, tx_hash: str) -> dict | None:
        return await self.call("eth_getTransactionReceipt", tx_hash)

    async def aclose(self) -> None:
        await self._client.aclose()


class TxSender:
    """Signs and sends transactions from one account with a locally tracked nonce."""

    def __init__(self, rpc: RPC, account: LocalAccount, chain_id: int) -> None:
        self.rpc = rpc
        self.account = account
        self.chain_id = chain_id
        self._nonce: int | None = None
        self._lock = asyncio.Lock()
        self._fees: tuple[float, dict[str, int]] | None = None

    @property
    def address(self) -> str:
        return self.account.address

    async def _fee_fields(self) -> dict[str, int]:
        now = time.monotonic()
        if self._fees and now - self._fees[0] < 5:
            return self._fees[1]
        block = await self.rpc.call("eth_getBlockByNumber", "latest", False)
        base = block.get("baseFeePerGas")
        if base is None:
            fields = {"gasPrice": int(await self.rpc.call("eth_gasPrice"), 16)}
        else:
            tip = 10**9
            fields = {"maxFeePerGas": 2 * int(base, 16) + tip, "maxPriorityFeePerGas": tip}
        self._fees = (now, fields)
        return fields

    async def send(self, to: str, data: str, *, gas: int, value: int = 0) -> str:
        """Sends a transaction; returns its hash without waiting for it to be mined."""
        fees = await self._fee_fields()
        async with self._lock:
            for attempt in range(3):
                if self._nonce is None:
                    self._nonce = int(await self.rpc.call("eth_getTransactionCount", self.address, "pending"), 16)
                tx = {"to": to, "data": data, "value": value, "gas": gas, "nonce": self._nonce,
                      "chainId": self.chain_id, **fees}  # fmt: skip
                raw = self.account.sign_transaction(tx).raw_transaction
                try:
                    tx_hash = await self.rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
                except RPCError as exc:
                    message = str(exc).lower()
                    if "nonce" in message and attempt < 2:
                        self._nonce = None  # resynchronise and retry
                        continue
                    raise
                self._nonce += 1
                return tx_hash
        raise ChainError("could not send the transaction")

    async def wait(self, tx_hash: str, *, timeout: float = 120, what: str = "transaction") -> dict:
        """Waits for a receipt; raises ChainError if the transaction reverted."""
        deadline = time.monotonic() + timeout
        delay = 0.001  # automining nodes answer within a millisecond or two
        while True:
            receipt = await self.rpc.receipt(tx_hash)
            if receipt is not None:
                if int(receipt["status"], 16) != 1:
                    raise ChainError(f"{what} reverted (tx {tx_hash})")
                return receipt
            if time.monotonic() > deadline:
                raise ChainError(f"{what} not mined within {timeout:.0f}s (tx {tx_hash})")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def transact(self, to: str, data: str, *, gas: int, value: int = 0, what: str = "transaction") -> dict:
        return await self.wait(await self.send(to, data, gas=gas, value=value), what=what)
