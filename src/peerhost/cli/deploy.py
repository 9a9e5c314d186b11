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
from peerhost.chain.keys import DEFAULT_KEY_ENV
from peerhost.cli.context import devnet_info, require
from peerhost.cli.network import _account
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
    env: list[str] = typer.Option([], "--env", help="KEY=VALUE secret for the deployment (not supported yet)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Build, upload and register every function of a project; print each endpoint URL."""
    if env:
        raise PeerHostError("--env is not supported yet: per-deployment secrets need encryption to workers' keys")
    console = Console(stderr=True)
    account = _account(key_env, keystore, anvil_account)
    gateway = require(gateway_url, "--gateway", "gateway_url").rstrip("/")
    with console.status(f"deploying {source}") as status, checkout(source, ref) as project_dir:
        functions = asyncio.run(deploy_project(
            project_dir, gateway_url=gateway, rpc_url=require(rpc, "--rpc", "rpc_url"),
            coordinator=require(coordinator, "--coordinator", "contracts.coordinator"), account=account,
            progress=status.update))  # fmt: skip
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
    timeout: float = typer.Option(120, "--timeout"),
) -> None:
    """Call a function and print its response (exit 1 on an error status)."""
    body = None
    if data is not None:
        body = Path(data[1:]).read_bytes() if data.startswith("@") else data.encode()
    headers = {}
    for h in header:
        key, sep, value = h.partition(":")
        if not sep:
            raise BundleError(f"header {h!r} is not KEY:VALUE")
        headers[key.strip()] = value.strip()
    try:
        r = httpx.request(method or ("POST" if body is not None else "GET"), url, content=body, headers=headers,
                          timeout=timeout)  # fmt: skip
    except httpx.HTTPError as exc:
        raise PeerHostError(f"cannot reach {url}: {exc}") from None
    err = Console(stderr=True, highlight=False)
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
