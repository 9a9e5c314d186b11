"""Deploying a project: build its bundles, upload them, register each changed version on-chain."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from eth_account.signers.local import LocalAccount

from peerhost.bundle.builder import BuiltFunction, build_project
from peerhost.bundle.errors import BundleError
from peerhost.chain.coordinator import POLICIES, Coordinator, FunctionVersion
from peerhost.chain.rpc import RPC, RPCError, TxSender
from peerhost.protocol.secrets import SecretsDoc
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


async def worker_public_keys(coord: Coordinator) -> dict[str, bytes]:
    """The public keys the active workers registered (from their events: keys are not in storage)."""
    keys: dict[str, bytes] = {}
    for name in ("WorkerRegistered", "WorkerPublicKeyChanged"):
        topic = coord.topic(name)
        for log in await coord.rpc.get_logs(coord.address, [topic], 0, await coord.rpc.block_number()):
            decoded = coord.decode_log(log)
            if decoded:
                keys[decoded[1]["worker"]] = decoded[1]["publicKey"]
    active = set(await coord.call("activeWorkers"))
    return {w: k for w, k in keys.items() if w in active}


async def upload_secrets(coord: Coordinator, gateway_url: str, account: LocalAccount, function_id: bytes,
                         values: dict[str, str]) -> list[str]:  # fmt: skip
    """Seals `values` to every active worker, signs the document as owner, stores it at the gateway."""
    workers = await worker_public_keys(coord)
    if not workers:
        raise BundleError("no active workers to seal the secrets to")
    doc = SecretsDoc.create(function_id, values, workers, int(time.time()))
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.put(f"{gateway_url.rstrip('/')}/_peerhost/secrets/0x{function_id.hex()}",
                           json={"document": doc.body(), "signature": doc.sign(account)})  # fmt: skip
    if r.status_code != 201:
        raise BundleError(f"the gateway refused the secrets: {r.text.strip()}")
    return sorted(workers)


async def deploy_project(
    project_dir: Path, *, gateway_url: str, rpc_url: str, coordinator: str, account: LocalAccount,
    env: dict[str, str] | None = None, progress: Callable[[str], None] = lambda _m: None,
) -> list[DeployedFunction]:  # fmt: skip
    progress(f"building {project_dir}")
    result = build_project(project_dir, cid_version=1)
    env = dict(env or {})
    declared = {name for fn in result.functions for name in fn.config.env}
    undeclared = sorted(set(env) - declared)
    if undeclared:
        raise BundleError(f"{', '.join(undeclared)}: not declared in any function's env in peerhost.toml")
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
            values = {name: env[name] for name in fn.config.env if name in env}
            if current is not None and _same_code(current, fn):
                if (current.price, current.pay_to) != (config[0], config[1]):
                    progress(f"repricing {fn.name}")
                    await coord.transact("setPrice", function_id, config[0], config[1])
                    status = "repriced"
                else:
                    status = "unchanged"
                if values:
                    progress(f"sealing {len(values)} secret(s) of {fn.name} to the workers")
                    await upload_secrets(coord, gateway_url, account, function_id, values)
                deployed.append(DeployedFunction(fn.name, str(fn.cid), current.current_version, url, str(fn.config.price), status))
                continue
            progress(f"uploading {fn.name} ({fn.size} bytes, {len(fn.blocks)} blocks)")
            for block in fn.blocks:
                store.put_block(block)
            progress(f"registering {fn.name} on-chain")
            receipt = await coord.transact("deployFunction", result.project, fn.name, fn.cid.to_bytes(), config)
            version = next(args["version"] for name, args in coord.events_in(receipt) if name == "FunctionDeployed")
            if values:
                progress(f"sealing {len(values)} secret(s) of {fn.name} to the workers")
                await upload_secrets(coord, gateway_url, account, function_id, values)
            deployed.append(DeployedFunction(fn.name, str(fn.cid), version, url, str(fn.config.price), "deployed"))
        return deployed
    finally:
        await rpc.aclose()
