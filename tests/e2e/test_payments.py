"""x402 payments on a real devnet with the official SDK: paid calls, refusals, no charge on failure."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import secrets
import time

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from x402 import x402Client
from x402.http.clients import x402HttpxClient
from x402.http.utils import decode_payment_required_header, encode_payment_signature_header
from x402.mechanisms.evm.exact import ExactEvmClientScheme
from x402.schemas import PaymentPayload

from peerhost.chain.artifacts import load_artifact
from peerhost.chain.keys import ANVIL_KEYS, account_from_key
from tests.e2e.conftest import Network, write_project

PRICE = 10_000  # 0.01 USDC
PAYER = account_from_key(ANVIL_KEYS[6])
PAY_TO = account_from_key(ANVIL_KEYS[1]).address  # examples/paid's pay_to


@pytest.fixture(scope="module")
def paid(network: Network, tmp_path_factory) -> Network:
    project = write_project(tmp_path_factory.mktemp("paidfail"), {
        "peerhost.toml": '[project]\nname = "paidfail"\npay_to = "%s"\n[functions.broken]\nprice = "0.01"\n' % PAY_TO,
        "functions/broken.py": "def handler(request, ctx=None):\n    raise ValueError('no service')\n",
    })  # fmt: skip
    for fn in network.devnet.deploy(project):
        network.url[fn["name"]] = fn["url"]
    network.usdc = network.w3.eth.contract(address=network.devnet.deployment.usdc.address, abi=load_artifact("TestUSDC").abi)
    return network


def balances(net: Network, *addresses: str) -> tuple[int, ...]:
    return tuple(net.usdc.functions.balanceOf(a).call() for a in addresses)


def sdk_client(account=PAYER) -> x402Client:
    client = x402Client()
    client.register("eip155:31337", ExactEvmClientScheme(account))
    client.set_spend_controls(False)  # TestUSDC is not one of the SDK's default assets
    return client


def requirements_of(net: Network, url: str):
    r = httpx.post(url, json={"x": 1})
    assert r.status_code == 402
    return decode_payment_required_header(r.headers["payment-required"]).accepts[0]


def signed_payment(net: Network, accepted, *, signer=PAYER, payer: str | None = None, value: int | None = None,
                   to: str | None = None, valid_before: int | None = None) -> str:  # fmt: skip
    """A PAYMENT-SIGNATURE header with an EIP-3009 authorization signed by `signer` (fields overridable)."""
    now = int(time.time())
    auth = {"from": payer or signer.address, "to": to or accepted.pay_to, "value": value if value is not None else int(accepted.amount),
            "validAfter": now - 60, "validBefore": valid_before or now + 300, "nonce": "0x" + secrets.token_hex(32)}  # fmt: skip
    domain = {"name": "USDC", "version": "2", "chainId": 31337, "verifyingContract": accepted.asset}
    types = {"TransferWithAuthorization": [{"name": n, "type": t} for n, t in (
        ("from", "address"), ("to", "address"), ("value", "uint256"), ("validAfter", "uint256"),
        ("validBefore", "uint256"), ("nonce", "bytes32"))]}  # fmt: skip
    message = {**auth, "nonce": bytes.fromhex(auth["nonce"][2:])}
    signature = signer.sign_message(encode_typed_data(domain, types, message)).signature.hex()
    payload = PaymentPayload(x402_version=2, accepted=accepted, payload={
        "authorization": {k: str(v) for k, v in auth.items()}, "signature": "0x" + signature.removeprefix("0x")})  # fmt: skip
    return encode_payment_signature_header(payload)


def test_sdk_client_pays_402_then_200_with_exact_balances(paid: Network) -> None:
    url = paid.url["echo"]
    first = httpx.post(url, json={"hello": "x402"})
    assert first.status_code == 402
    required = decode_payment_required_header(first.headers["payment-required"])
    req = required.accepts[0]
    assert (req.scheme, req.network, req.amount, req.pay_to) == ("exact", "eip155:31337", str(PRICE), PAY_TO)
    assert req.asset == paid.usdc.address and req.extra == {"name": "USDC", "version": "2"}
    assert first.json()["accepts"][0]["amount"] == str(PRICE), "the requirements are in the body too"

    before = balances(paid, PAYER.address, PAY_TO)

    async def call() -> httpx.Response:
        async with x402HttpxClient(sdk_client(), timeout=60) as client:
            return await client.post(url, json={"hello": "x402"})

    response = asyncio.run(call())
    assert response.status_code == 200, response.text
    assert response.json() == {"hello": "x402"}
    settlement = json.loads(base64.b64decode(response.headers["payment-response"]))
    assert settlement["success"] is True and settlement["network"] == "eip155:31337"
    receipt = paid.w3.eth.get_transaction_receipt(settlement["transaction"])
    assert receipt["status"] == 1
    after = balances(paid, PAYER.address, PAY_TO)
    assert before[0] - after[0] == PRICE and after[1] - before[1] == PRICE


@pytest.mark.parametrize("case", ["another_key", "too_small", "wrong_pay_to", "expired", "no_funds", "malformed"])
def test_bad_payments_are_refused_and_move_no_money(paid: Network, case: str) -> None:
    url = paid.url["echo"]
    accepted = requirements_of(paid, url)
    broke = Account.create()
    header = {
        "another_key": lambda: signed_payment(paid, accepted, signer=account_from_key(ANVIL_KEYS[7]), payer=PAYER.address),
        "too_small": lambda: signed_payment(paid, accepted.model_copy(update={"amount": "1"}), value=1),
        "wrong_pay_to": lambda: signed_payment(paid, accepted.model_copy(update={"pay_to": broke.address}), to=broke.address),
        "expired": lambda: signed_payment(paid, accepted, valid_before=int(time.time()) - 5),
        "no_funds": lambda: signed_payment(paid, accepted, signer=broke),
        "malformed": lambda: "not-base64-json!!",
    }[case]()  # fmt: skip
    before = balances(paid, PAYER.address, PAY_TO, broke.address)
    r = httpx.post(url, json={"x": 1}, headers={"PAYMENT-SIGNATURE": header}, timeout=60)
    assert r.status_code == 402, r.text
    body = r.json()
    assert body["error"]["code"] in {"invalid_payment", "payment_mismatch"}, body
    assert body["error"]["message"], "a clear reason"
    assert "payment-required" in r.headers
    assert balances(paid, PAYER.address, PAY_TO, broke.address) == before


def test_a_replayed_payment_is_refused(paid: Network) -> None:
    url = paid.url["echo"]
    header = signed_payment(paid, requirements_of(paid, url))
    first = httpx.post(url, json={"n": 1}, headers={"PAYMENT-SIGNATURE": header}, timeout=60)
    assert first.status_code == 200, first.text
    before = balances(paid, PAYER.address, PAY_TO)
    replay = httpx.post(url, json={"n": 2}, headers={"PAYMENT-SIGNATURE": header}, timeout=60)
    assert replay.status_code == 402 and replay.json()["error"]["code"] in {"payment_used", "invalid_payment"}
    assert balances(paid, PAYER.address, PAY_TO) == before


def test_two_concurrent_calls_with_one_payment_serve_at_most_one(paid: Network) -> None:
    url = paid.url["echo"]
    header = signed_payment(paid, requirements_of(paid, url))
    before = balances(paid, PAYER.address, PAY_TO)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda i: httpx.post(url, json={"i": i}, headers={"PAYMENT-SIGNATURE": header},
                                                       timeout=60), range(2)))  # fmt: skip
    assert sorted(r.status_code for r in responses).count(200) <= 1
    after = balances(paid, PAYER.address, PAY_TO)
    served = sum(r.status_code == 200 for r in responses)
    assert before[0] - after[0] == PRICE * served


def test_a_failing_function_is_never_charged(paid: Network) -> None:
    url = paid.url["broken"]
    header = signed_payment(paid, requirements_of(paid, url))
    before = balances(paid, PAYER.address, PAY_TO)
    r = httpx.post(url, json={"x": 1}, headers={"PAYMENT-SIGNATURE": header}, timeout=60)
    assert r.status_code == 502 and r.json()["error"]["code"] == "function_failed"
    assert "payment-response" not in r.headers
    assert balances(paid, PAYER.address, PAY_TO) == before


def _cli(net: Network, *args: str):
    import os
    import subprocess
    import sys

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PEERHOST_")},
           "PEERHOST_STATE_DIR": str(net.devnet.state_dir)}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "peerhost.cli.main", *args], capture_output=True, text=True, env=env,
                          timeout=120)  # fmt: skip


def test_peerhost_call_pays_within_max_price_and_shows_it(paid: Network) -> None:
    url = paid.url["echo"]
    payer = account_from_key(ANVIL_KEYS[5])
    before = balances(paid, payer.address)
    refused = _cli(paid, "call", url, "-d", '{"a": 1}', "--max-price", "0.001", "--anvil-account", "5")
    assert refused.returncode == 1 and "costs 0.01 USDC a call, more than --max-price 0.001" in refused.stderr
    assert balances(paid, payer.address) == before
    ok = _cli(paid, "call", url, "-d", '{"a": 1}', "--max-price", "0.05", "--anvil-account", "5")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"a": 1}
    assert "paid 0.01 USDC to " + PAY_TO in ok.stderr and "(tx 0x" in ok.stderr
    assert before[0] - balances(paid, payer.address)[0] == PRICE


def test_earnings_lists_revenue_per_function(paid: Network) -> None:
    out = _cli(paid, "earnings", "--json")
    assert out.returncode == 0, out.stderr
    rows = {row["function"]: row for row in json.loads(out.stdout)}
    assert "paid/echo" in rows
    echo = rows["paid/echo"]
    assert echo["calls"] >= 3 and echo["atomic"] == echo["calls"] * PRICE
    assert "paidfail/broken" not in rows, "failed calls earn nothing"
    text = _cli(paid, "earnings")
    assert "paid/echo" in text.stdout and "USDC" in text.stdout


def test_a_price_change_applies_to_the_next_call(paid: Network) -> None:
    from peerhost.chain.tx import send_transaction

    builder = account_from_key(ANVIL_KEYS[1])
    url = paid.url["broken"]
    function_id = paid.coordinator.functions.functionIdOf(builder.address, "paidfail", "broken").call()
    data = paid.coordinator.functions.setPrice(function_id, 25_000, PAY_TO)._encode_transaction_data()
    send_transaction(paid.w3, builder, {"to": paid.coordinator.address, "data": data}, what="setPrice")
    deadline = time.monotonic() + 10
    while requirements_of(paid, url).amount != "25000":
        assert time.monotonic() < deadline, "the new price did not apply"
        time.sleep(0.2)
