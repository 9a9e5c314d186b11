"""x402 on the gateway: 402 with requirements, verify before executing, settle after success.

Requirements are rebuilt for every call from the on-chain price and payTo, so a price change applies
to the next call. A payment (payer + EIP-3009 nonce) serves at most one call: a second request with
the same payment is refused while the first is in flight, and for good once it settled.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from x402 import x402ResourceServer
from x402.http import FacilitatorConfig, HTTPFacilitatorClient
from x402.http.utils import decode_payment_signature_header, encode_payment_required_header, encode_payment_response_header
from x402.mechanisms.evm.exact import ExactEvmServerScheme
from x402.schemas import PaymentPayload, PaymentRequirements, ResourceInfo, SettleResponse

from peerhost.payments.networks import PaymentAsset, PaymentError

PAYMENT_SIGNATURE = "payment-signature"
MAX_TIMEOUT_SECONDS = 300


class PaymentRejected(PaymentError):
    """The call's payment is missing or not acceptable: answer 402 with `code` and the requirements."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class VerifiedPayment:
    payload: PaymentPayload
    requirements: PaymentRequirements
    key: str
    payer: str


class PaymentGate:
    def __init__(self, facilitator_url: str, asset: PaymentAsset) -> None:
        self.asset = asset
        self.facilitator_url = facilitator_url
        self.server = x402ResourceServer(HTTPFacilitatorClient(FacilitatorConfig(url=facilitator_url)))
        self.server.register(asset.network, ExactEvmServerScheme())
        self._in_flight: set[str] = set()
        self._used: set[str] = set()
        self._ready = False

    async def start(self, attempts: int = 50) -> None:
        """Reads the facilitator's /supported (it must list our network)."""
        for attempt in range(attempts):
            try:
                await asyncio.to_thread(self.server.initialize)
                self._ready = True
                return
            except Exception as exc:  # noqa: BLE001 - retried, then reported
                if attempt == attempts - 1:
                    raise PaymentError(f"the facilitator at {self.facilitator_url} is not usable: {exc}") from None
                await asyncio.sleep(0.2)

    def requirements(self, price: int, pay_to: str) -> PaymentRequirements:
        return PaymentRequirements(scheme="exact", network=self.asset.network, asset=self.asset.address, amount=str(price),
                                   pay_to=pay_to, max_timeout_seconds=MAX_TIMEOUT_SECONDS,
                                   extra={"name": self.asset.name, "version": self.asset.version})  # fmt: skip

    async def payment_required(self, requirements: PaymentRequirements, url: str, error: str, code: str = "payment_required",
                         request_id: str | None = None) -> tuple[dict[str, str], dict[str, Any]]:  # fmt: skip
        """Headers and JSON body of a 402."""
        required = await self.server.create_payment_required_response(
            [requirements], resource=ResourceInfo(url=url, description="PeerHost function call", mime_type="application/json"),
            error=error)  # fmt: skip
        body = json.loads(required.model_dump_json(by_alias=True, exclude_none=True))
        body["error"] = {"code": code, "message": error, **({"request_id": request_id} if request_id else {})}
        body["x402Error"] = error
        return {"PAYMENT-REQUIRED": encode_payment_required_header(required)}, body

    async def verify(self, header: str | None, requirements: PaymentRequirements) -> VerifiedPayment:
        if not header:
            raise PaymentRejected("payment_required", "this function is priced: pay with x402 (PAYMENT-SIGNATURE)")
        try:
            payload = decode_payment_signature_header(header)
            if not isinstance(payload, PaymentPayload):
                raise ValueError("x402 v1 payloads are not accepted: use x402 v2")
            authorization = payload.payload["authorization"]
            key = f"{authorization['from'].lower()}:{authorization['nonce'].lower()}"
        except Exception as exc:  # noqa: BLE001 - anything undecodable is malformed
            raise PaymentRejected("invalid_payment", f"malformed PAYMENT-SIGNATURE header: {exc}") from None
        if self.server.find_matching_requirements([requirements], payload) is None:
            raise PaymentRejected("payment_mismatch", "the payment does not match the requirements (amount, payTo, asset "
                                  "or network)")  # fmt: skip
        if key in self._used:
            raise PaymentRejected("payment_used", "this payment was already used")
        if key in self._in_flight:
            raise PaymentRejected("payment_in_use", "this payment is being used by another request")
        self._in_flight.add(key)
        try:
            result = await self.server.verify_payment(payload, requirements)
        except Exception as exc:  # noqa: BLE001 - the facilitator's failure
            self._in_flight.discard(key)
            raise PaymentRejected("payment_unverifiable", f"the payment could not be verified: {exc}") from None
        if not result.is_valid:
            self._in_flight.discard(key)
            reason = result.invalid_reason or "invalid"
            detail = f": {result.invalid_message}" if getattr(result, "invalid_message", None) else ""
            raise PaymentRejected("invalid_payment", f"payment refused ({reason}){detail}")
        return VerifiedPayment(payload, requirements, key, result.payer or authorization["from"])

    def release(self, payment: VerifiedPayment) -> None:
        """The call failed: the payment was not charged and may be used again."""
        self._in_flight.discard(payment.key)

    async def settle(self, payment: VerifiedPayment) -> tuple[SettleResponse, str]:
        """Settles a verified payment; returns the response and its PAYMENT-RESPONSE header."""
        try:
            result = await self.server.settle_payment(payment.payload, payment.requirements)
        except Exception as exc:  # noqa: BLE001
            self._in_flight.discard(payment.key)
            raise PaymentRejected("settlement_failed", f"the payment could not be settled: {exc}") from None
        self._in_flight.discard(payment.key)
        if not result.success:
            raise PaymentRejected("settlement_failed", f"settlement failed: {result.error_reason or 'unknown'}")
        self._used.add(payment.key)
        return result, encode_payment_response_header(result)
