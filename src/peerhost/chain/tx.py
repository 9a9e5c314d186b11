"""Sending transactions from a local account, with fees that suit the chain and clear errors."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import TxReceipt

from peerhost.chain.errors import ChainError


def connect(rpc_url: str, timeout: float = 30) -> Web3:
    """A Web3 connected to `rpc_url` (http(s) URL), checked by reading the chain id."""
    if not rpc_url.startswith(("http://", "https://")):
        raise ChainError(f"unsupported RPC URL {rpc_url!r}: give an http:// or https:// URL")
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    try:
        w3.eth.chain_id  # noqa: B018 - a request that proves the endpoint answers
    except Exception as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else str(exc)
        raise ChainError(f"cannot reach the RPC at {rpc_url}: {reason}") from None
    return w3


def fee_fields(w3: Web3) -> dict[str, int]:
    """EIP-1559 fee fields when the chain has a base fee, else a legacy gas price."""
    block = w3.eth.get_block("latest")
    base = block.get("baseFeePerGas")
    if base is None:
        return {"gasPrice": w3.eth.gas_price}
    try:
        tip = w3.eth.max_priority_fee
    except Exception:
        tip = Web3.to_wei(1, "gwei")
    return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}


def send_transaction(
    w3: Web3, account: LocalAccount, tx: dict[str, Any], *, what: str, timeout: float = 180
) -> TxReceipt:
    """Signs and sends `tx` from `account`, waits for its receipt, and raises on a revert."""
    tx = dict(tx)
    tx.setdefault("from", account.address)
    tx.setdefault("chainId", w3.eth.chain_id)
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    if "gasPrice" not in tx and "maxFeePerGas" not in tx:
        tx.update(fee_fields(w3))
    if "gas" not in tx:
        try:
            tx["gas"] = int(w3.eth.estimate_gas(tx) * 1.2) + 10_000
        except ContractLogicError as exc:
            raise ChainError(f"{what} would revert: {exc}") from None
        except (Web3RPCError, ValueError) as exc:
            raise ChainError(f"{what}: cannot estimate gas: {_rpc_message(exc)}") from None
    signed = account.sign_transaction(tx)
    try:
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    except (Web3RPCError, ValueError) as exc:
        raise ChainError(f"{what}: the node refused the transaction: {_rpc_message(exc)}") from None
    try:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.1)
    except TimeExhausted:
        raise ChainError(f"{what}: transaction {tx_hash.to_0x_hex()} not mined within {timeout:.0f}s") from None
    if receipt["status"] != 1:
        raise ChainError(f"{what}: transaction {tx_hash.to_0x_hex()} reverted")
    return receipt


def _rpc_message(exc: Exception) -> str:
    """The node's own message from a JSON-RPC error, without the dict wrapping."""
    message = getattr(exc, "rpc_response", None)
    if isinstance(message, dict) and isinstance(message.get("error"), dict):
        return str(message["error"].get("message", exc))
    return str(exc)
