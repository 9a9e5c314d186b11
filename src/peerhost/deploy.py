"""Deploying a project: build its bundles, upload them, register each changed version on-chain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from peerhost.bundle.builder import BuiltFunction, build_project
from peerhost.chain.coordinator import POLICIES, Coordinator, FunctionVersion
from peerhost.chain.rpc import RPC, RPCError, TxSender
from peerhost.storage.remote import KuboRPCStore


@dataclass(frozen=True)
class DeployedFunction:
    name: str
    cid: str
    version: int
    url: str
    price: str
    status: str  # "deployed" | "unchanged" | "repriced"


def _config(fn: BuiltFunction, owner: str) -> tuple:
    c = fn.config
    return (c.price_atomic, c.pay_to or owner, c.timeout_ms, c.memory_mb, c.redundancy, POLICIES[c.verify])


def _same_code(current: FunctionVersion, fn: BuiltFunction) -> bool:
    c = fn.config
    return (current.code_hash == fn.cid.digest and current.codec == fn.cid.codec and current.timeout_ms == c.timeout_ms
            and current.memory_mb == c.memory_mb and current.redundancy == c.redundancy and current.policy == c.verify)  # fmt: skip


async def deploy_project(
    project_dir: Path, *, gateway_url: str, rpc_url: str, coordinator: str, account: LocalAccount,
    progress: Callable[[str], None] = lambda _m: None,
) -> list[DeployedFunction]:  # fmt: skip
    progress(f"building {project_dir}")
    result = build_project(project_dir, cid_version=1)
    rpc = RPC(rpc_url)
    try:
        coord = Coordinator(rpc, coordinator, TxSender(rpc, account, await rpc.chain_id()))
        store = KuboRPCStore(gateway_url)
        owner = account.address
        deployed = []
        for fn in result.functions:
            function_id = await coord.function_id(owner, result.project, fn.name)
            try:
                current: FunctionVersion | None = await coord.function(function_id)
            except RPCError:
                current = None
            config = _config(fn, owner)
            url = f"{gateway_url.rstrip('/')}/{owner}/{result.project}/{fn.name}"
            if current is not None and _same_code(current, fn):
                if (current.price, current.pay_to) != (config[0], config[1]):
                    progress(f"repricing {fn.name}")
                    await coord.transact("setPrice", function_id, config[0], config[1])
                    status = "repriced"
                else:
                    status = "unchanged"
                deployed.append(DeployedFunction(fn.name, str(fn.cid), current.current_version, url, str(fn.config.price), status))
                continue
            progress(f"uploading {fn.name} ({fn.size} bytes, {len(fn.blocks)} blocks)")
            for block in fn.blocks:
                store.put_block(block)
            progress(f"registering {fn.name} on-chain")
            receipt = await coord.transact("deployFunction", result.project, fn.name, fn.cid.to_bytes(), config)
            version = next(args["version"] for name, args in coord.events_in(receipt) if name == "FunctionDeployed")
            deployed.append(DeployedFunction(fn.name, str(fn.cid), version, url, str(fn.config.price), "deployed"))
        return deployed
    finally:
        await rpc.aclose()
