"""A PeerHost worker: follows execution requests, runs them in the sandbox, proves its answers.

For each `ExecutionRequested` event: decide whether to run it (the contract's primary at
redundancy 1, rendezvous hashing above; others take over when answers are missing), fetch and
verify the bundle and the invocation by CID, run it in a warm sandbox, deliver the result with an
EIP-712 receipt to the gateway, and settle on-chain: `submit` (primary, redundancy 1) or
commit → reveal → finalize.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from web3 import Web3

from peerhost.bundle.builder import BundleManifest, open_bundle
from peerhost.chain.coordinator import Coordinator, ExecutionRequested
from peerhost.chain.errors import ChainError
from peerhost.chain.events import LogStream
from peerhost.chain.rpc import RPC, TxSender
from peerhost.protocol.documents import InvocationDoc, ResultDoc
from peerhost.protocol.receipts import Receipt
from peerhost.protocol.secrets import SecretsDoc, SecretsError
from peerhost.sandbox.limits import Limits
from peerhost.sandbox.pool import SandboxRunner
from peerhost.sandbox.runner import HttpRequest, Invocation, SandboxConfig
from peerhost.storage.cid import CID, DAG_PB, RAW
from peerhost.storage.local import LocalBlockStore
from peerhost.storage.remote import TrustlessGatewayStore
from peerhost.storage.store import cat_bytes
from peerhost.storage.unixfs import Block
from peerhost.worker.selection import rank_of
from peerhost.worker.state import WorkerState

log = logging.getLogger("peerhost.worker")
MAX_BUNDLE = 64 * 1024 * 1024


@dataclass(frozen=True)
class WorkerConfig:
    rpc_url: str
    coordinator: str
    account: LocalAccount
    gateway_url: str
    state_dir: Path
    ws_url: str | None = None
    stake_wei: int = 10**18
    concurrency: int = 8
    warm_sandboxes: int = 2
    grace_s: float = 2.0  # before a worker outside the rendezvous set joins a redundant request
    metrics_port: int | None = None
    lie: bool = False  # test only: answer with a wrong result
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)


class CachingStore:
    """Blocks from the gateway's trustless gateway, verified, cached on disk."""

    def __init__(self, remote: TrustlessGatewayStore, cache: LocalBlockStore) -> None:
        self.remote, self.cache = remote, cache

    def get_block(self, cid: CID) -> bytes:
        if self.cache.has(cid):
            return self.cache.get_block(cid)
        data = self.remote.get_block(cid)  # verified against the CID
        self.cache.put_block(Block(cid, data))
        return data

    def has(self, cid: CID) -> bool:
        return self.cache.has(cid) or self.remote.has(cid)

    def put_block(self, block: Block) -> None:
        self.cache.put_block(block)


class Worker:
    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.me = config.account.address
        self.state = WorkerState.load(config.state_dir / "state.json")
        self.store = CachingStore(TrustlessGatewayStore(config.gateway_url), LocalBlockStore(config.state_dir / "cache"))
        self._bundles: dict[bytes, tuple[BundleManifest, dict[str, bytes]]] = {}
        self._secrets: dict[bytes, tuple[float, dict[str, str]]] = {}
        self._pending_blocks: dict[int, int] = {}  # request id -> block, for the resume watermark
        self._handled: set[int] = set()
        self._settled: set[int] = set()  # finalized/expired requests seen on the stream
        self._commits: dict[int, int] = {}  # commits seen on the stream, per request
        self._tasks: set[asyncio.Task] = set()
        self._stopping = asyncio.Event()
        self._active: tuple[float, list[str]] = (0.0, [])
        self._executor = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="peerhost-exec")
        self._slots = asyncio.Semaphore(config.concurrency)
        self._http = httpx.AsyncClient(timeout=30)
        registry = CollectorRegistry()
        self.m_events = Counter("peerhost_worker_requests_seen_total", "Execution requests seen", registry=registry)
        self.m_runs = Counter("peerhost_worker_executions_total", "Executions by outcome", ["outcome"], registry=registry)
        self.m_txs = Counter("peerhost_worker_transactions_total", "Transactions by kind", ["kind"], registry=registry)
        self.m_exec = Histogram("peerhost_worker_execution_seconds", "Sandbox time", registry=registry)
        self.m_inflight = Gauge("peerhost_worker_in_flight", "Requests being handled", registry=registry)
        self.registry = registry

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        self.rpc = RPC(self.config.rpc_url)
        self.chain_id = await self.rpc.chain_id()
        self.sender = TxSender(self.rpc, self.config.account, self.chain_id)
        self.coordinator = Coordinator(self.rpc, self.config.coordinator, self.sender)
        self.takeover_window = await self.coordinator.call("TAKEOVER_WINDOW")
        self.reveal_window = await self.coordinator.call("REVEAL_WINDOW")
        await self._ensure_registered()
        if self.config.metrics_port:
            start_http_server(self.config.metrics_port, addr="127.0.0.1", registry=self.registry)
        self.runner = SandboxRunner(self.config.sandbox, warm={"python": self.config.warm_sandboxes})
        if self.state.next_block is None:
            self.state.next_block = await self.rpc.block_number()
            self.state.save()
        self._live_from = await self.rpc.block_number() + 1  # events before this may have been handled already
        for request_id in list(self.state.reveals):  # commitments made before a restart
            self._spawn(self._finish_reveal(int(request_id)))
        self.stream = LogStream(self.rpc, self.coordinator.address, ws_url=self.config.ws_url,
                                from_block=self.state.next_block,
                                topics=[self.coordinator.topic(n) for n in ("ExecutionRequested", "WorkerActivated",
                                                                             "WorkerDeactivated", "RequestFinalized",
                                                                             "RequestExpired", "ResultCommitted")])  # fmt: skip
        log.info(json.dumps({"event": "started", "worker": self.me, "from_block": self.state.next_block}))
        reader = asyncio.create_task(self._follow())
        await self._stopping.wait()
        reader.cancel()
        await self._drain()

    def stop(self) -> None:
        self._stopping.set()

    async def _drain(self, timeout: float = 60) -> None:
        """Finishes in-flight work (reveals included) before exiting."""
        if self._tasks:
            log.info(json.dumps({"event": "draining", "in_flight": len(self._tasks)}))
            await asyncio.wait(self._tasks, timeout=timeout)
        self.state.save()
        self.runner.close()
        self._executor.shutdown(wait=False)
        await self._http.aclose()
        await self.rpc.aclose()
        log.info(json.dumps({"event": "stopped"}))

    async def _ensure_registered(self) -> None:
        info = await self.coordinator.worker(self.me)
        if not info["registered"]:
            public_key = self.config.account._key_obj.public_key.to_compressed_bytes()
            await self.coordinator.transact("registerWorker", public_key, value=self.config.stake_wei)
            self.m_txs.labels("register").inc()
            log.info(json.dumps({"event": "registered", "stake": self.config.stake_wei}))
        elif not info["active"] and info["unbonding_at"] == 0:
            await self.coordinator.transact("addStake", value=self.config.stake_wei)
            log.info(json.dumps({"event": "stake_topped_up", "amount": self.config.stake_wei}))

    # ------------------------------------------------------------------ events

    async def _follow(self) -> None:
        async for entry in self.stream:
            decoded = self.coordinator.decode_log(entry)
            if decoded is None:
                continue
            name, args = decoded
            if name == "ExecutionRequested" and not self._stopping.is_set():
                event = Coordinator.execution_requested(args)
                if event.request_id not in self._handled:
                    self._handled.add(event.request_id)
                    self._pending_blocks[event.request_id] = event.block_number
                    self.m_events.inc()
                    self._spawn(self._handle(event))
            elif name in ("WorkerActivated", "WorkerDeactivated"):
                self._active = (0.0, [])
            elif name in ("RequestFinalized", "RequestExpired"):
                self._settled.add(args["requestId"])
                if len(self._settled) > 100_000:
                    self._settled = set(sorted(self._settled)[-50_000:])
            elif name == "ResultCommitted":
                self._commits[args["requestId"]] = self._commits.get(args["requestId"], 0) + 1
            self._advance(int(entry["blockNumber"], 16))

    def _advance(self, block: int) -> None:
        """Resume point: the oldest block with a request still being handled, else the next block."""
        watermark = min(self._pending_blocks.values(), default=block + 1)
        if watermark != self.state.next_block:
            self.state.next_block = watermark
            self.state.save()

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _active_workers(self) -> list[str]:
        if time.monotonic() - self._active[0] > 2:
            self._active = (time.monotonic(), list(await self.coordinator.call("activeWorkers")))
        return self._active[1]

    # ------------------------------------------------------------------ handling

    async def _handle(self, ev: ExecutionRequested) -> None:
        self.m_inflight.inc()
        try:
            if ev.block_number < self._live_from and (await self.coordinator.request(ev.request_id))["status"] != "pending":
                return  # replayed from before this run (restart, back-fill) and settled already
            if ev.redundancy == 1 and ev.primary == self.me:
                t0 = time.perf_counter()
                result = await self._execute(ev)
                if result is None:
                    return
                t1 = time.perf_counter()
                await self._deliver(ev, result)
                log.debug(json.dumps({"event": "answered", "request": ev.request_id, "execute_ms": round((t1 - t0) * 1000, 2),
                                      "deliver_ms": round((time.perf_counter() - t1) * 1000, 2)}))  # fmt: skip
                try:
                    await self.coordinator.transact("submit", ev.request_id, result[0].hash())
                    self.m_txs.labels("submit").inc()
                    return
                except ChainError as exc:
                    log.warning(json.dumps({"event": "submit_refused", "request": ev.request_id, "error": str(exc)}))
                await self._commit_reveal(ev, result)
                return
            if ev.redundancy == 1:
                # Not the primary: step in only when the primary stayed silent for its window.
                takeover_at = ev.commit_deadline - self.takeover_window
                await self._sleep_until(takeover_at + 0.2)
            else:
                rank = rank_of(ev.request_id, await self._active_workers(), self.me)
                if rank is None or rank >= ev.redundancy:
                    await asyncio.sleep(self.config.grace_s)
            if self._stopping.is_set() or ev.request_id in self._settled:
                return
            if self._commits.get(ev.request_id, 0) >= ev.redundancy:
                return  # enough workers committed: nothing to take over
            req = await self.coordinator.request(ev.request_id)
            if req["status"] != "pending" or req["commit_count"] >= ev.redundancy or time.time() > ev.commit_deadline:
                return
            result = await self._execute(ev)
            if result is not None:
                await self._deliver(ev, result)
                await self._commit_reveal(ev, result)
        except Exception as exc:  # noqa: BLE001 - one request's failure never stops the worker
            log.error(json.dumps({"event": "request_failed", "request": ev.request_id, "error": repr(exc)}))
        finally:
            self.m_inflight.dec()
            self._pending_blocks.pop(ev.request_id, None)
            self._commits.pop(ev.request_id, None)

    async def _sleep_until(self, when: float) -> None:
        delay = when - time.time()
        if delay > 0:
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def _execute(self, ev: ExecutionRequested) -> tuple[ResultDoc, str] | None:
        async with self._slots:
            loop = asyncio.get_running_loop()
            try:
                manifest, files = await loop.run_in_executor(self._executor, self._bundle, ev.code_hash, ev.codec)
                input_cid = CID(1, RAW, ev.input_hash)
                raw = await loop.run_in_executor(self._executor, self.store.get_block, input_cid)
                doc = InvocationDoc.from_json(json.loads(raw))
            except Exception as exc:  # noqa: BLE001 - bad bundles and inputs are the requester's problem
                log.error(json.dumps({"event": "fetch_failed", "request": ev.request_id, "error": str(exc)}))
                self.m_runs.labels("fetch_failed").inc()
                return None
            env: dict[str, str] = {}
            if manifest.env:
                try:
                    env = await self._environment(ev.function_id, manifest.env)
                except Exception as exc:  # noqa: BLE001 - without its secrets this worker must not answer
                    log.warning(json.dumps({"event": "secrets_unavailable", "request": ev.request_id, "error": str(exc)}))
                    self.m_runs.labels("secrets_unavailable").inc()
                    return None
            invocation = Invocation(
                manifest.runtime, manifest.entry, files,
                HttpRequest(doc.method, doc.path, doc.query, tuple(doc.headers.items()), doc.body),
                str(ev.request_id), doc.timestamp, env, manifest.network,
                Limits(timeout_ms=manifest.timeout_ms, memory_mb=manifest.memory_mb),
            )  # fmt: skip
            started = time.perf_counter()
            execution = await loop.run_in_executor(self._executor, self.runner.run, invocation)
            self.m_exec.observe(time.perf_counter() - started)
        self.m_runs.labels(execution.error or "ok").inc()
        result = ResultDoc.from_execution(execution.status, execution.headers, execution.body, execution.error)
        if self.config.lie:
            result = ResultDoc(200, {"content-type": "text/plain; charset=utf-8"}, b"a lie", None)
        return result, execution.logs

    async def _environment(self, function_id: bytes, names: tuple[str, ...]) -> dict[str, str]:
        """The function's secret values sealed to this worker (owner-signed), limited to declared names."""
        cached = self._secrets.get(function_id)
        if cached is None or time.monotonic() - cached[0] > 10:
            r = await self._http.get(f"{self.config.gateway_url}/_peerhost/secrets/0x{function_id.hex()}")
            if r.status_code == 404:
                values: dict[str, str] = {}
            else:
                r.raise_for_status()
                stored = r.json()
                doc = SecretsDoc.from_json(stored["document"])
                owner = (await self.coordinator.function(function_id)).owner
                if doc.function_id.lower() != "0x" + function_id.hex() or doc.signer(stored["signature"]) != owner:
                    raise SecretsError("the secrets document is not signed by the function's owner")
                values = doc.open_for(self.config.account)
            cached = (time.monotonic(), values)
            self._secrets[function_id] = cached
        return {name: cached[1][name] for name in names if name in cached[1]}

    def _bundle(self, code_hash: bytes, codec: int) -> tuple[BundleManifest, dict[str, bytes]]:
        cached = self._bundles.get(code_hash)
        if cached is None:
            cid = CID(1, RAW if codec == RAW else DAG_PB, code_hash)
            cached = open_bundle(cat_bytes(self.store, cid, max_size=MAX_BUNDLE))
            if len(self._bundles) > 256:
                self._bundles.pop(next(iter(self._bundles)))
            self._bundles[code_hash] = cached
        return cached

    async def _deliver(self, ev: ExecutionRequested, result: tuple[ResultDoc, str]) -> None:
        doc, logs = result
        receipt = Receipt(ev.request_id, ev.input_hash, ev.code_hash, doc.hash(), self.me)
        payload = {
            "request_id": ev.request_id, "worker": self.me, "result": doc.to_json(),
            "input_hash": "0x" + ev.input_hash.hex(), "code_hash": "0x" + ev.code_hash.hex(),
            "signature": receipt.sign(self.config.account, self.chain_id, self.coordinator.address), "logs": logs,
        }  # fmt: skip
        for attempt in range(5):
            try:
                r = await self._http.post(f"{self.config.gateway_url}/_peerhost/results", json=payload)
                if r.status_code < 500:
                    if r.status_code >= 400:
                        log.warning(json.dumps({"event": "delivery_refused", "request": ev.request_id, "status": r.status_code,
                                                "body": r.text[:200]}))  # fmt: skip
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2 * 2**attempt)
        log.warning(json.dumps({"event": "delivery_failed", "request": ev.request_id}))

    async def _commit_reveal(self, ev: ExecutionRequested, result: tuple[ResultDoc, str]) -> None:
        result_hash = result[0].hash()
        salt = secrets.token_bytes(32)
        commitment = Web3.keccak(abi_encode(["uint256", "bytes32", "address", "bytes32"],
                                            [ev.request_id, result_hash, self.me, salt]))  # fmt: skip
        self.state.reveals[str(ev.request_id)] = {"result_hash": result_hash.hex(), "salt": salt.hex(),
                                                  "deadline": ev.commit_deadline}  # fmt: skip
        self.state.save()
        try:
            await self.coordinator.transact("commit", ev.request_id, commitment)
            self.m_txs.labels("commit").inc()
        except ChainError as exc:
            log.info(json.dumps({"event": "commit_refused", "request": ev.request_id, "error": str(exc)}))
            self.state.reveals.pop(str(ev.request_id), None)
            self.state.save()
            return
        await self._finish_reveal(ev.request_id)

    async def _finish_reveal(self, request_id: int) -> None:
        """Reveals once the commit phase is over, then finalizes when possible."""
        entry = self.state.reveals.get(str(request_id))
        if entry is None:
            return
        deadline = entry["deadline"]
        while True:
            req = await self.coordinator.request(request_id)
            if req["status"] != "pending":
                break
            if req["commit_count"] >= req["redundancy"] or time.time() > deadline + 1:
                try:
                    await self.coordinator.transact("reveal", request_id, bytes.fromhex(entry["result_hash"]),
                                                    bytes.fromhex(entry["salt"]))  # fmt: skip
                    self.m_txs.labels("reveal").inc()
                except ChainError as exc:
                    log.warning(json.dumps({"event": "reveal_refused", "request": request_id, "error": str(exc)}))
                break
            if time.time() > deadline + self.reveal_window:
                break
            await asyncio.sleep(0.25)
        self.state.reveals.pop(str(request_id), None)
        self.state.save()
        await self._finalize_when_due(request_id, deadline)

    async def _finalize_when_due(self, request_id: int, deadline: int) -> None:
        while time.time() < deadline + self.reveal_window + 5:
            req = await self.coordinator.request(request_id)
            if req["status"] != "pending":
                return
            if await self.coordinator.call("isFinalizable", request_id):
                try:
                    await self.coordinator.transact("finalize", request_id)
                    self.m_txs.labels("finalize").inc()
                except ChainError:
                    pass  # another worker finalized first
                return
            await asyncio.sleep(0.25)

    async def withdraw(self) -> int:
        amount = await self.coordinator.call("owed", self.me)
        if amount:
            await self.coordinator.transact("withdraw")
        return amount


def configure_logging(level: str = "INFO") -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format='{"time": "%(asctime)s", "level": "%(levelname)s", "logger": "%(name)s", "message": %(message)s}'
                        if os.environ.get("PEERHOST_LOG_JSON") else "%(asctime)s %(levelname)s %(name)s %(message)s")  # fmt: skip
