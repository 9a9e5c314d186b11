"""The gateway: PeerHost's HTTP front door.

`/<owner>/<project>/<function>[/<rest>]` (or Host `<owner>.<domain>` + `/<project>/<function>`):
resolve the function on-chain, turn the HTTP request into a canonical invocation document kept in
the content store, request its execution on-chain, collect the workers' signed results, and answer
by the function's verification policy. Errors are JSON with a stable `error.code`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from web3 import Web3

from peerhost.chain.coordinator import Coordinator, FunctionVersion
from peerhost.chain.errors import ChainError
from peerhost.chain.events import LogStream
from peerhost.chain.rpc import RPC, RPCError, TxSender
from peerhost.gateway.batcher import RequestBatcher
from peerhost.gateway.collector import Collector, Delivery
from peerhost.gateway.records import Records
from peerhost.payments.gate import PAYMENT_SIGNATURE, PaymentGate, PaymentRejected, VerifiedPayment
from peerhost.payments.networks import resolve_asset
from peerhost.protocol.canonical import canonical_hash
from peerhost.protocol.documents import InvocationDoc, ResultDoc, forwarded_headers
from peerhost.protocol.receipts import Receipt
from peerhost.protocol.secrets import SecretsDoc, SecretsError
from peerhost.storage.cid import CID, DAG_PB, RAW
from peerhost.storage.local import LocalBlockStore
from peerhost.storage.server import store_routes
from peerhost.storage.unixfs import Block

log = logging.getLogger("peerhost.gateway")


@dataclass(frozen=True)
class GatewayConfig:
    rpc_url: str
    coordinator: str
    account: LocalAccount
    state_dir: Path
    ws_url: str | None = None
    domain: str | None = None  # Host <owner>.<domain> routing
    max_body_bytes: int = 1024 * 1024
    result_margin_s: float = 30.0  # waited beyond the commit deadline (and reveal window when finalized)
    max_batch: int = 32
    registry_ttl_s: float = 2.0
    facilitator_url: str | None = None  # x402: priced functions need one
    usdc: str | None = None  # payment asset (default: the chain's known USDC)


class GatewayError(Exception):
    def __init__(self, status: int, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.request_id = status, code, message, request_id


def error_response(status: int, code: str, message: str, request_id: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    headers = {}
    if request_id is not None:
        body["error"]["request_id"] = request_id
        headers["X-PeerHost-Request-Id"] = request_id
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter("peerhost_gateway_requests_total", "Calls by outcome", ["code"], registry=self.registry)
        self.latency = Histogram("peerhost_gateway_request_seconds", "Call latency", ["policy"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))  # fmt: skip
        self.results = Counter("peerhost_gateway_results_total", "Worker deliveries by verdict", ["verdict"],
                               registry=self.registry)  # fmt: skip


class Gateway:
    """State shared by the routes: chain access, store, records, collector."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.store = LocalBlockStore(config.state_dir / "blocks")
        self.records = Records(config.state_dir / "gateway.sqlite3")
        self.collector = Collector()
        self.metrics = Metrics()
        self._functions: dict[bytes, tuple[float, FunctionVersion | None]] = {}
        self._workers: dict[str, tuple[float, bool]] = {}
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        self.rpc = RPC(self.config.rpc_url)
        self.chain_id = await self.rpc.chain_id()
        self.sender = TxSender(self.rpc, self.config.account, self.chain_id)
        self.coordinator = Coordinator(self.rpc, self.config.coordinator, self.sender)
        params = await self.coordinator.call("parameters")
        self.min_stake = params[0]
        self.reveal_window = await self.coordinator.call("REVEAL_WINDOW")
        self.batcher = RequestBatcher(self.coordinator, max_batch=self.config.max_batch)
        self.batcher.start()
        from prometheus_client import Gauge

        for name, doc, attr in (("peerhost_gateway_request_batches", "requestExecutionBatch transactions sent", "batches_sent"),
                                ("peerhost_gateway_request_singles", "requestExecution transactions sent", "singles_sent"),
                                ("peerhost_gateway_batched_requests", "Requests sent in batches", "batched_requests")):  # fmt: skip
            Gauge(name, doc, registry=self.metrics.registry).set_function(lambda attr=attr: getattr(self.batcher, attr))
        self.payments: PaymentGate | None = None
        if self.config.facilitator_url:
            if self.config.usdc is not None:
                asset = resolve_asset(self.chain_id, self.config.usdc, await self._token_text("name"),
                                      await self._token_text("version"))  # fmt: skip
            else:
                asset = resolve_asset(self.chain_id)
            self.payments = PaymentGate(self.config.facilitator_url, asset)
            await self.payments.start()
        head = await self.rpc.block_number()
        watched = ["RequestFinalized", "FunctionDeployed", "FunctionVersionActivated", "FunctionPriceChanged",
                   "FunctionActiveChanged", "WorkerActivated", "WorkerDeactivated", "Slashed"]
        self.events = LogStream(self.rpc, self.coordinator.address, ws_url=self.config.ws_url, from_block=head,
                                topics=[self.coordinator.topic(name) for name in watched])  # fmt: skip
        self._tasks.append(asyncio.create_task(self._watch()))

    async def _token_text(self, field: str) -> str:
        from eth_abi import decode as abi_decode

        selector = Web3.keccak(text=f"{field}()")[:4].hex()
        raw = await self.rpc.eth_call(Web3.to_checksum_address(self.config.usdc or ""), "0x" + selector)
        return abi_decode(["string"], raw)[0]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.batcher.stop()
        await self.rpc.aclose()
        self.records.close()

    async def _watch(self) -> None:
        """Registry changes invalidate the cache; finalizations reach `finalized` waiters."""
        async for entry in self.events:
            decoded = self.coordinator.decode_log(entry)
            if decoded is None:
                continue
            name, args = decoded
            if name.startswith("Function"):
                self._functions.pop(args["functionId"], None)
            elif name == "RequestFinalized":
                self.collector.finalized(args["requestId"], args["resultHash"])
            elif name in ("WorkerActivated", "WorkerDeactivated", "Slashed"):
                self._workers.pop(args["worker"], None)

    async def function(self, function_id: bytes) -> FunctionVersion | None:
        cached = self._functions.get(function_id)
        if cached and time.monotonic() - cached[0] < self.config.registry_ttl_s:
            return cached[1]
        try:
            fn: FunctionVersion | None = await self.coordinator.function(function_id)
        except RPCError as exc:
            if "UnknownFunction" in (self.coordinator.decode_error(exc.data) or ""):
                fn = None
            else:
                raise
        self._functions[function_id] = (time.monotonic(), fn)
        return fn

    async def worker_ok(self, address: str) -> bool:
        cached = self._workers.get(address)
        if cached and time.monotonic() - cached[0] < 5:
            return cached[1]
        info = await self.coordinator.worker(address)
        ok = info["active"] and info["stake"] >= self.min_stake
        self._workers[address] = (time.monotonic(), ok)
        return ok


def code_cid(fn: FunctionVersion) -> CID:
    return CID(1, RAW if fn.codec == RAW else DAG_PB, fn.code_hash)


def _owner(text: str) -> str | None:
    return Web3.to_checksum_address(text) if Web3.is_address(text) else None


def create_gateway_app(config: GatewayConfig) -> Starlette:
    gw = Gateway(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await gw.start()
        app.state.gateway = gw
        try:
            yield
        finally:
            await gw.stop()

    async def call(request: Request) -> Response:
        params = request.path_params
        owner_text = params.get("owner")
        if owner_text is None and config.domain:
            host = request.headers.get("host", "").split(":")[0]
            owner_text = host.removesuffix("." + config.domain) if host.endswith("." + config.domain) else None
        return await invoke(request, owner_text or "", params["project"], params["function"], params.get("rest", ""))

    async def invoke(request: Request, owner_text: str, project: str, name: str, rest: str) -> Response:
        started = time.monotonic()
        local_id = uuid.uuid4().hex
        owner = _owner(owner_text)
        if owner is None:
            gw.metrics.requests.labels("unknown_function").inc()
            return error_response(404, "unknown_function", f"{owner_text!r} is not an owner address", local_id)
        function_id = await gw.coordinator.function_id(owner, project, name)
        fn = await gw.function(function_id)
        if fn is None:
            gw.metrics.requests.labels("unknown_function").inc()
            return error_response(404, "unknown_function", f"no function {project}/{name} of {owner}", local_id)
        if not fn.active:
            gw.metrics.requests.labels("function_inactive").inc()
            return error_response(404, "function_inactive", f"{project}/{name} is switched off by its owner", local_id)
        payment: VerifiedPayment | None = None
        if fn.price > 0:
            if gw.payments is None:
                gw.metrics.requests.labels("payment_required").inc()
                return error_response(402, "payment_required", "this function is priced and this gateway takes no "
                                      "payments (start it with --facilitator)", local_id)  # fmt: skip
            requirements = gw.payments.requirements(fn.price, fn.pay_to)
            try:
                payment = await gw.payments.verify(request.headers.get(PAYMENT_SIGNATURE), requirements)
            except PaymentRejected as exc:
                gw.metrics.requests.labels(exc.code).inc()
                headers, body = await gw.payments.payment_required(requirements, str(request.url), str(exc), exc.code, local_id)
                return JSONResponse(body, status_code=402, headers={**headers, "X-PeerHost-Request-Id": local_id})
        try:
            return await execute(request, local_id, owner, project, name, rest, function_id, fn, payment, started)
        finally:
            if payment is not None:
                gw.payments.release(payment)  # no-op once settled

    async def execute(request: Request, local_id: str, owner: str, project: str, name: str, rest: str,
                      function_id: bytes, fn: FunctionVersion, payment: VerifiedPayment | None, started: float) -> Response:  # fmt: skip
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > config.max_body_bytes:
            gw.metrics.requests.labels("body_too_large").inc()
            return error_response(413, "body_too_large", f"request body over {config.max_body_bytes} bytes", local_id)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > config.max_body_bytes:
                gw.metrics.requests.labels("body_too_large").inc()
                return error_response(413, "body_too_large", f"request body over {config.max_body_bytes} bytes", local_id)

        doc = InvocationDoc(owner, project, name, fn.current_version, str(code_cid(fn)), request.method,
                            "/" + rest if rest else "/", tuple(request.query_params.multi_items()),
                            forwarded_headers(request.headers.items()), bytes(body), int(time.time()))  # fmt: skip
        encoded = doc.encode()
        input_cid = CID.of(encoded, RAW, 1)
        gw.store.put_block(Block(input_cid, encoded))
        try:
            event = await gw.batcher.request(function_id, input_cid.digest)
        except ChainError as exc:
            gw.metrics.requests.labels("chain_error").inc()
            log.error("requestExecution failed: %s", exc)
            return error_response(503, "chain_unavailable", f"could not request the execution: {exc}", local_id)
        request_id = str(event.request_id)
        pending = gw.collector.expect(event.request_id, input_cid.digest, fn.code_hash, fn.policy, fn.redundancy)
        gw.records.upsert(request_id, function=f"{owner}/{project}/{name}@{fn.current_version}",
                          input_cid=str(input_cid), status="pending")  # fmt: skip
        wait_until = event.commit_deadline + config.result_margin_s
        if fn.policy == "finalized":
            wait_until += gw.reveal_window
        try:
            delivery: Delivery = await asyncio.wait_for(pending.done, timeout=max(1.0, wait_until - time.time()))
        except TimeoutError:
            gw.records.upsert(request_id, status="timeout", error="no_result")
            gw.metrics.requests.labels("no_result").inc()
            return error_response(504, "no_result", "no worker answered in time", request_id)
        finally:
            gw.collector.forget(event.request_id)
        result = delivery.result
        headers = {"X-PeerHost-Request-Id": request_id, "X-PeerHost-Result-Hash": "0x" + delivery.result_hash.hex(),
                   "X-PeerHost-Worker": delivery.worker}  # fmt: skip
        gw.metrics.latency.labels(fn.policy).observe(time.monotonic() - started)
        if result.error is not None:
            gw.records.upsert(request_id, status="failed", error=result.error, worker=delivery.worker,
                              result_hash=headers["X-PeerHost-Result-Hash"], http_status=502)  # fmt: skip
            gw.metrics.requests.labels("function_failed").inc()
            response = error_response(502, "function_failed", f"the function failed: {result.error}", request_id)
            response.headers.update(headers)
            return response
        if payment is not None and result.status < 400:
            try:
                settled, header = await gw.payments.settle(payment)
            except PaymentRejected as exc:
                gw.records.upsert(request_id, status="unpaid", error=exc.code, worker=delivery.worker, http_status=402)
                gw.metrics.requests.labels(exc.code).inc()
                response_headers, body = await gw.payments.payment_required(payment.requirements, str(request.url), str(exc),
                                                                      exc.code, request_id)  # fmt: skip
                return JSONResponse(body, status_code=402, headers={**response_headers, **headers})
            headers["PAYMENT-RESPONSE"] = header
            gw.records.add_settlement(request_id, f"{owner}/{project}/{name}", settled.payer or payment.payer,
                                      int(payment.requirements.amount), fn.pay_to, settled.transaction,
                                      payment.requirements.network)  # fmt: skip
        gw.records.upsert(request_id, status="ok", worker=delivery.worker, result_hash=headers["X-PeerHost-Result-Hash"],
                          http_status=result.status)  # fmt: skip
        gw.metrics.requests.labels("ok").inc()
        return Response(result.body, status_code=result.status, headers={**result.headers, **headers})

    async def results(request: Request) -> Response:
        """Workers deliver signed results here."""
        try:
            payload = json.loads(await request.body())
            request_id = int(payload["request_id"])
            worker = Web3.to_checksum_address(payload["worker"])
            result = ResultDoc.from_json(payload["result"])
            input_hash = bytes.fromhex(payload["input_hash"].removeprefix("0x"))
            code_hash = bytes.fromhex(payload["code_hash"].removeprefix("0x"))
            signature = payload["signature"]
            logs = str(payload.get("logs", ""))[:65536]
        except (ValueError, KeyError, TypeError) as exc:
            gw.metrics.results.labels("malformed").inc()
            return error_response(400, "malformed_result", f"malformed result delivery: {exc}")
        result_hash = canonical_hash(result.to_json())
        receipt = Receipt(request_id, input_hash, code_hash, result_hash, worker)
        try:
            signer = receipt.signer(signature, gw.chain_id, gw.coordinator.address)
        except Exception:  # noqa: BLE001 - any undecodable signature
            signer = None
        if signer != worker:
            gw.metrics.results.labels("bad_signature").inc()
            return error_response(401, "bad_signature", "the receipt is not signed by the named worker")
        if not await gw.worker_ok(worker):
            gw.metrics.results.labels("not_staked").inc()
            return error_response(403, "worker_not_staked", f"{worker} is not an active staked worker")
        verdict = gw.collector.deliver(request_id, Delivery(worker, result, result_hash, input_hash, code_hash, logs))
        gw.metrics.results.labels(verdict).inc()
        if verdict == "mismatch":
            return error_response(409, "hash_mismatch", "input or code hash differs from the request's")
        if logs:
            gw.records.add_logs(str(request_id), worker, logs)
        return JSONResponse({"accepted": verdict}, status_code=202)

    async def request_status(request: Request) -> Response:
        request_id = request.path_params["id"]
        record = gw.records.get(request_id)
        if record is None:
            return error_response(404, "unknown_request", f"no request {request_id} on this gateway")
        if request_id.isdigit():
            with contextlib.suppress(ChainError):
                record["chain"] = await gw.coordinator.request(int(request_id))
        return JSONResponse(record)

    async def request_logs(request: Request) -> Response:
        request_id = request.path_params["id"]
        if gw.records.get(request_id) is None:
            return error_response(404, "unknown_request", f"no request {request_id} on this gateway")
        return JSONResponse({"request_id": request_id, "logs": gw.records.logs(request_id)})

    async def put_secrets(request: Request) -> Response:
        """Sealed per-deployment secrets, accepted only when signed by the function's owner."""
        function_id = request.path_params["function_id"].lower()
        try:
            payload = json.loads(await request.body())
            doc = SecretsDoc.from_json(payload["document"])
            signer = doc.signer(payload["signature"])
            fid = bytes.fromhex(function_id.removeprefix("0x"))
        except (ValueError, KeyError, TypeError, SecretsError) as exc:
            return error_response(400, "malformed_secrets", f"malformed secrets upload: {exc}")
        if doc.function_id.lower() != function_id:
            return error_response(400, "malformed_secrets", "the document is for another function")
        gw._functions.pop(fid, None)
        fn = await gw.function(fid)
        if fn is None:
            return error_response(404, "unknown_function", f"no function {function_id}")
        if signer != fn.owner:
            return error_response(403, "not_owner", "secrets must be signed by the function's owner")
        gw.records.put_secrets(function_id, doc.body(), payload["signature"])
        return JSONResponse({"stored": True, "workers": sorted(doc.sealed)}, status_code=201)

    async def get_secrets(request: Request) -> Response:
        stored = gw.records.get_secrets(request.path_params["function_id"])
        if stored is None:
            return error_response(404, "no_secrets", "no secrets for this function")
        return JSONResponse(stored)

    async def settlements(request: Request) -> Response:
        return JSONResponse({"settlements": gw.records.settlements(request.query_params.get("tx"))})

    async def healthz(request: Request) -> Response:
        try:
            block = await gw.rpc.block_number()
        except ChainError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=503)
        return JSONResponse({"ok": True, "chain_id": gw.chain_id, "block": block, "coordinator": gw.coordinator.address,
                             "account": gw.sender.address, "events_connected": gw.events.connected.is_set(),
                             "payments": None if gw.payments is None else {"network": gw.payments.asset.network,
                                                                           "asset": gw.payments.asset.address}})  # fmt: skip

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(gw.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def not_found(request: Request) -> Response:
        return error_response(404, "not_found", f"no route for {request.url.path}")

    routes = [
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/openapi.json", openapi),
        Route("/_peerhost/results", results, methods=["POST"]),
        Route("/_peerhost/requests/{id}", request_status),
        Route("/_peerhost/requests/{id}/logs", request_logs),
        Route("/_peerhost/settlements", settlements),
        Route("/_peerhost/secrets/{function_id}", put_secrets, methods=["PUT"]),
        Route("/_peerhost/secrets/{function_id}", get_secrets, methods=["GET"]),
        *store_routes(gw.store, max_upload=64 * 1024 * 1024),
    ]
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    user_routes = [
        Route("/{owner}/{project}/{function}", call, methods=methods),
        Route("/{owner}/{project}/{function}/{rest:path}", call, methods=methods),
    ]
    if config.domain:
        user_routes += [Route("/{project}/{function}", call, methods=methods),
                        Route("/{project}/{function}/{rest:path}", call, methods=methods)]  # fmt: skip
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return error_response(500, "internal_error", "the gateway failed to handle this request; it is logged")

    app = Starlette(routes=[*routes, *user_routes, Route("/{path:path}", not_found, methods=methods)], lifespan=lifespan,
                    exception_handlers={Exception: internal_error})  # fmt: skip
    app.state.gateway = gw
    return app


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "PeerHost gateway", "version": "1"},
    "paths": {
        "/{owner}/{project}/{function}": {"parameters": [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in ("owner", "project", "function")],
            "get": {"summary": "Call a function", "responses": {
                "200": {"description": "The function's response (any status it chose)"},
                "402": {"description": "Payment required"}, "404": {"description": "Unknown function"},
                "413": {"description": "Body too large"}, "502": {"description": "The function failed"},
                "504": {"description": "No worker answered in time"}}}},
        "/_peerhost/requests/{id}": {"get": {"summary": "Status of a request", "responses": {"200": {"description": "Record"},
                                                                                               "404": {"description": "Unknown"}}}},
        "/_peerhost/requests/{id}/logs": {"get": {"summary": "Function logs of a request", "responses": {"200": {"description": "Logs"}}}},
        "/_peerhost/results": {"post": {"summary": "Workers deliver signed results", "responses": {
            "202": {"description": "Accepted"}, "400": {"description": "Malformed"}, "401": {"description": "Bad signature"},
            "403": {"description": "Worker not staked"}, "409": {"description": "Hash mismatch"}}}},
        "/ipfs/{cid}": {"get": {"summary": "Trustless gateway (raw, car, file)", "responses": {"200": {"description": "Content"}}}},
        "/healthz": {"get": {"summary": "Health", "responses": {"200": {"description": "OK"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Metrics"}}}},
    },
}  # fmt: skip
