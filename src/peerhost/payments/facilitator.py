"""An x402 facilitator service: /verify, /settle, /supported for one EVM chain, with its own key.

The SDK's facilitator waits for receipts with synchronous web3 calls: each request runs in a worker
thread, so one slow settlement never holds up another verification. One key per facilitator
process (the SDK keeps its nonce per process)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from x402 import x402Facilitator
from x402.mechanisms.evm.exact import ExactEvmFacilitatorScheme
from x402.mechanisms.evm.signers import FacilitatorWeb3Signer
from x402.schemas import PaymentPayload, PaymentRequirements


def create_facilitator_app(rpc_url: str, private_key: str, networks: list[str]) -> Starlette:
    facilitator = x402Facilitator()
    facilitator.register(networks, ExactEvmFacilitatorScheme(FacilitatorWeb3Signer(private_key=private_key, rpc_url=rpc_url)))
    lock = asyncio.Lock()  # settlements from one key go one at a time (the signer's nonce)

    async def _parse(request: Request) -> tuple[PaymentPayload, PaymentRequirements] | JSONResponse:
        try:
            body: dict[str, Any] = await request.json()
            return (PaymentPayload.model_validate(body["paymentPayload"]),
                    PaymentRequirements.model_validate(body["paymentRequirements"]))  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - any malformed body
            return JSONResponse({"error": f"malformed request: {exc}"}, status_code=400)

    def _run(coro_fn, *args):
        return asyncio.run(coro_fn(*args))

    async def verify(request: Request) -> JSONResponse:
        parsed = await _parse(request)
        if isinstance(parsed, JSONResponse):
            return parsed
        result = await asyncio.to_thread(_run, facilitator.verify, *parsed)
        return JSONResponse(result.model_dump(by_alias=True, exclude_none=True))

    async def settle(request: Request) -> JSONResponse:
        parsed = await _parse(request)
        if isinstance(parsed, JSONResponse):
            return parsed
        async with lock:
            result = await asyncio.to_thread(_run, facilitator.settle, *parsed)
        return JSONResponse(result.model_dump(by_alias=True, exclude_none=True))

    async def supported(request: Request) -> JSONResponse:
        return JSONResponse(facilitator.get_supported().model_dump(by_alias=True, exclude_none=True))

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "networks": networks})

    return Starlette(routes=[Route("/verify", verify, methods=["POST"]), Route("/settle", settle, methods=["POST"]),
                             Route("/supported", supported), Route("/healthz", healthz)])  # fmt: skip
