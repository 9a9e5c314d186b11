"""`peerhost deploy`, `peerhost call`, `peerhost logs`, `peerhost status`."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path

import httpx
import typer
from rich.console import Console

from peerhost.bundle.errors import BundleError
from peerhost.bundle.source import checkout
from peerhost.chain.keys import DEFAULT_KEY_ENV, signing_account
from peerhost.cli.context import devnet_info, require, signer
from peerhost.deploy import deploy_project
from peerhost.errors import PeerHostError


def deploy(
    source: str = typer.Argument(".", help="Project folder or git URL."),
    ref: str | None = typer.Option(None, "--ref", help="Branch, tag or commit of a git URL."),
    gateway_url: str | None = typer.Option(None, "--gateway", envvar="PEERHOST_GATEWAY_URL"),
    rpc: str | None = typer.Option(None, "--rpc", envvar="PEERHOST_RPC_URL"),
    coordinator: str | None = typer.Option(None, "--coordinator", envvar="PEERHOST_COORDINATOR"),
    key_env: str = typer.Option(DEFAULT_KEY_ENV, "--key-env"),
    keystore: Path | None = typer.Option(None, "--keystore", envvar="PEERHOST_KEYSTORE"),
    anvil_account: int | None = typer.Option(None, "--anvil-account", min=0, max=9),
    env: list[str] = typer.Option([], "--env", help="KEY=VALUE secret for functions that declare KEY in env "
                                  "(sealed to the workers' keys; repeatable)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Build, upload and register every function of a project; print each endpoint URL."""
    values: dict[str, str] = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BundleError(f"--env {item.split('=')[0]!r}... is not KEY=VALUE")
        values[key] = value
    console = Console(stderr=True)
    rpc_url = require(rpc, "--rpc", "rpc_url")
    account = signer(key_env, keystore, anvil_account, rpc_url)
    gateway = require(gateway_url, "--gateway", "gateway_url").rstrip("/")
    with console.status(f"deploying {source}") as status, checkout(source, ref) as project_dir:
        functions = asyncio.run(deploy_project(
            project_dir, gateway_url=gateway, rpc_url=rpc_url,
            coordinator=require(coordinator, "--coordinator", "contracts.coordinator"), account=account,
            env=values, progress=status.update))  # fmt: skip
    if as_json:
        print(json.dumps([asdict(f) for f in functions], indent=2))
        return
    for fn in functions:
        price = "free" if fn.price in ("0", "0.0") else f"{fn.price} USDC"
        print(f"{fn.name}  v{fn.version}  {fn.status:<9}  {price:<10}  {fn.url}")


def call(
    url: str = typer.Argument(..., help="Function URL (gateway/owner/project/function[/path])."),
    data: str | None = typer.Option(None, "--data", "-d", help="Request body, or @file."),
    method: str | None = typer.Option(None, "--request", "-X", help="HTTP method (default GET, POST with -d)."),
    header: list[str] = typer.Option([], "--header", "-H", help="Header k:v (repeatable)."),
    include: bool = typer.Option(False, "--include", "-i", help="Show status and headers."),
    max_price: str = typer.Option("0", "--max-price", help="Pay up to this many USDC when the function is priced."),
    key_env: str = typer.Option(DEFAULT_KEY_ENV, "--key-env", help="Variable holding the paying key."),
    keystore: Path | None = typer.Option(None, "--keystore", envvar="PEERHOST_KEYSTORE"),
    anvil_account: int | None = typer.Option(None, "--anvil-account", min=0, max=9),
    timeout: float = typer.Option(120, "--timeout"),
) -> None:
    """Call a function and print its response; pays with x402 within --max-price (exit 1 on an error status)."""
    body = None
    if data is not None:
        body = Path(data[1:]).read_bytes() if data.startswith("@") else data.encode()
    headers = {}
    for h in header:
        key, sep, value = h.partition(":")
        if not sep:
            raise BundleError(f"header {h!r} is not KEY:VALUE")
        headers[key.strip()] = value.strip()
    verb = method or ("POST" if body is not None else "GET")
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        r = httpx.request(verb, url, content=body, headers=headers, timeout=timeout)
        if r.status_code == 402 and "payment-required" in r.headers:
            r = _pay(r, verb, url, body, headers, max_price, timeout, err,
                     lambda chain_id: signing_account(key_env=key_env, keystore=keystore, anvil_account=anvil_account,
                                                      chain_id=chain_id))  # fmt: skip
    except httpx.HTTPError as exc:
        raise PeerHostError(f"cannot reach {url}: {exc}") from None
    if include:
        print(f"HTTP {r.status_code}")
        for key, value in r.headers.items():
            print(f"{key}: {value}")
        print()
    sys.stdout.buffer.write(r.content + (b"" if r.content.endswith(b"\n") else b"\n"))
    request_id = r.headers.get("x-peerhost-request-id")
    if request_id and not include:
        err.print(f"[dim]request {request_id}[/]")
    raise typer.Exit(0 if r.status_code < 400 else 1)


def _pay(first: httpx.Response, verb: str, url: str, body: bytes | None, headers: dict[str, str], max_price: str,
         timeout: float, err: Console, load_account) -> httpx.Response:  # fmt: skip
    """Pays a 402 with x402 (exact scheme) if its price is within `max_price` USDC."""
    import base64
    from decimal import Decimal, InvalidOperation

    from x402 import x402Client
    from x402.http.clients import x402HttpxClient
    from x402.http.utils import decode_payment_required_header
    from x402.mechanisms.evm.exact import ExactEvmClientScheme

    required = decode_payment_required_header(first.headers["payment-required"])
    option = required.accepts[0]
    price = Decimal(option.amount).scaleb(-6).normalize()
    try:
        limit = Decimal(max_price)
    except InvalidOperation:
        raise PeerHostError(f"--max-price {max_price!r} is not a number of USDC") from None
    if price > limit:
        raise PeerHostError(f"the function costs {price} USDC a call, more than --max-price {limit}: not paying")
    account = load_account(int(option.network.split(":", 1)[1]))  # the payment network's chain
    client = x402Client()
    client.register(option.network, ExactEvmClientScheme(account))
    client.set_spend_controls(False)  # the price check above is the cap

    async def paid() -> httpx.Response:
        async with x402HttpxClient(client, timeout=timeout) as http:
            response = await http.request(verb, url, content=body, headers=headers)
            await response.aread()
            return response

    response = asyncio.run(paid())
    settlement = response.headers.get("payment-response")
    if settlement:
        info = json.loads(base64.b64decode(settlement))
        err.print(f"paid {price} USDC to {option.pay_to} on {option.network} (tx {info.get('transaction')})")
    return response


def _gateway(gateway_url: str | None) -> str:
    return require(gateway_url, "--gateway", "gateway_url").rstrip("/")


def logs(
    request_id: str = typer.Argument(..., help="Request id (X-PeerHost-Request-Id)."),
    gateway_url: str | None = typer.Option(None, "--gateway", envvar="PEERHOST_GATEWAY_URL"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show the function logs of a request."""
    base = _gateway(gateway_url)
    try:
        status = httpx.get(f"{base}/_peerhost/requests/{request_id}", timeout=10)
        entries = httpx.get(f"{base}/_peerhost/requests/{request_id}/logs", timeout=10)
    except httpx.HTTPError as exc:
        raise PeerHostError(f"cannot reach the gateway at {base}: {exc}") from None
    if status.status_code == 404:
        raise PeerHostError(f"no request {request_id} on {base}")
    if as_json:
        print(json.dumps({"request": status.json(), "logs": entries.json().get("logs", [])}, indent=2))
        return
    record = status.json()
    print(f"request {request_id}: {record['status']}  {record.get('function', '')}  "
          f"{'error: ' + record['error'] if record.get('error') else ''}".rstrip())  # fmt: skip
    for entry in entries.json().get("logs", []):
        print(f"--- worker {entry['worker']}")
        print(entry["logs"].rstrip() or "(no output)")


def status(
    gateway_url: str | None = typer.Option(None, "--gateway", envvar="PEERHOST_GATEWAY_URL"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show the local network (from `peerhost dev`) and the gateway's health."""
    info = devnet_info() or {}
    base = gateway_url or info.get("gateway_url")
    health = None
    if base:
        try:
            health = httpx.get(f"{base.rstrip('/')}/healthz", timeout=5).json()
        except (httpx.HTTPError, ValueError) as exc:
            health = {"ok": False, "error": str(exc)}
    out = {"devnet": info or None, "gateway": base, "health": health}
    if as_json:
        print(json.dumps(out, indent=2))
        return
    if not base:
        raise PeerHostError("no gateway: pass --gateway URL or run `peerhost dev` in this folder")
    print(f"gateway   {base}  {'ok' if health and health.get('ok') else 'DOWN'}")
    if health and health.get("ok"):
        print(f"chain     {health['chain_id']} at block {health['block']}  coordinator {health['coordinator']}")
    for w in info.get("workers", []):
        print(f"worker    {w['address']}  pid {w['pid']}")
    for f in info.get("functions", []):
        print(f"function  {f['url']}  ({f['price']})")


def earnings_cmd(
    owner: str | None = typer.Option(None, "--owner", help="Builder address (default: your key's, or anvil #1 on a devnet)."),
    rpc: str | None = typer.Option(None, "--rpc", envvar="PEERHOST_RPC_URL"),
    coordinator: str | None = typer.Option(None, "--coordinator", envvar="PEERHOST_COORDINATOR"),
    usdc: str | None = typer.Option(None, "--usdc", help="Payment token address."),
    gateway_url: str | None = typer.Option(None, "--gateway", envvar="PEERHOST_GATEWAY_URL"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Revenue per function from on-chain x402 settlement logs."""
    from web3 import Web3

    from peerhost.chain.keys import ANVIL_KEYS, account_from_key
    from peerhost.payments.earnings import earnings

    info = devnet_info() or {}
    if owner is None:
        owner = account_from_key(ANVIL_KEYS[1]).address if info else None
    owner = require(owner, "--owner")
    if not Web3.is_address(owner):
        raise PeerHostError(f"--owner is not an address: {owner!r}")
    w3 = Web3(Web3.HTTPProvider(require(rpc, "--rpc", "rpc_url")))
    rows = earnings(w3, require(coordinator, "--coordinator", "contracts.coordinator"), require(usdc, "--usdc", "contracts.usdc"),
                    owner, gateway_url or info.get("gateway_url"))  # fmt: skip
    if as_json:
        print(json.dumps([{"function": r.function, "pay_to": r.pay_to, "calls": r.calls, "usdc": str(r.usdc),
                           "atomic": r.atomic, "transactions": r.transactions} for r in rows], indent=2))  # fmt: skip
        return
    if not rows:
        print("no settled payments yet")
    for r in rows:
        print(f"{r.function:<32} {r.calls:>6} calls  {r.usdc:>12} USDC  to {r.pay_to}")
