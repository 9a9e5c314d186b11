"""Revenue per function, from on-chain settlement logs.

A settlement is a USDC `Transfer` to a function's payTo in a transaction that also used an EIP-3009
authorization (`AuthorizationUsed`): an x402 payment. It is attributed to a function by the
gateway's settlement record of that transaction, or by the payTo when only one function uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import httpx
from web3 import Web3

from peerhost.chain.artifacts import load_artifact


@dataclass
class Revenue:
    function: str
    pay_to: str
    calls: int = 0
    atomic: int = 0
    transactions: list[str] = field(default_factory=list)

    @property
    def usdc(self) -> Decimal:
        return Decimal(self.atomic).scaleb(-6)


def earnings(w3: Web3, coordinator: str, usdc: str, owner: str, gateway_url: str | None = None) -> list[Revenue]:
    coord = w3.eth.contract(address=Web3.to_checksum_address(coordinator), abi=load_artifact("ExecutionCoordinator").abi)
    token = w3.eth.contract(address=Web3.to_checksum_address(usdc), abi=load_artifact("TestUSDC").abi)
    owner = Web3.to_checksum_address(owner)
    names: dict[bytes, str] = {}
    pay_to: dict[bytes, str] = {}
    for log in coord.events.FunctionDeployed().get_logs(from_block=0, argument_filters={"owner": owner}):
        names[log["args"]["functionId"]] = f"{log['args']['project']}/{log['args']['name']}"
        pay_to[log["args"]["functionId"]] = log["args"]["config"]["payTo"]
    for log in coord.events.FunctionPriceChanged().get_logs(from_block=0):
        if log["args"]["functionId"] in names:
            pay_to[log["args"]["functionId"]] = log["args"]["payTo"]
    by_pay_to: dict[str, list[str]] = {}
    for fid, address in pay_to.items():
        by_pay_to.setdefault(address, []).append(names[fid])
    rows: dict[str, Revenue] = {}
    authorized = {log["transactionHash"] for log in token.events.AuthorizationUsed().get_logs(from_block=0)}
    attribution: dict[str, str] = {}
    if gateway_url:
        try:
            for s in httpx.get(f"{gateway_url.rstrip('/')}/_peerhost/settlements", timeout=10).json()["settlements"]:
                attribution[s["tx"].lower()] = s["function"].split("/", 1)[1]
        except (httpx.HTTPError, KeyError, ValueError):
            pass
    for address, functions in by_pay_to.items():
        for log in token.events.Transfer().get_logs(from_block=0, argument_filters={"to": address}):
            if log["transactionHash"] not in authorized:
                continue  # a plain transfer, not an x402 settlement
            tx = log["transactionHash"].to_0x_hex()
            name = attribution.get(tx.lower()) or (functions[0] if len(functions) == 1 else "(shared payTo)")
            row = rows.setdefault(name, Revenue(name, address))
            row.calls += 1
            row.atomic += log["args"]["value"]
            row.transactions.append(tx)
    return sorted(rows.values(), key=lambda r: r.function)
