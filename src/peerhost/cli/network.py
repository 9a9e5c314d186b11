"""`peerhost gateway` and `peerhost worker`: the long-running network processes."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer
import uvicorn

from peerhost.chain.keys import DEFAULT_KEY_ENV
from peerhost.cli.context import require, signer
from peerhost.errors import PeerHostError
from peerhost.gateway.app import GatewayConfig, create_gateway_app
from peerhost.sandbox.runner import SandboxConfig
from peerhost.worker.node import Worker, WorkerConfig, configure_logging


def gateway(
    rpc: str | None = typer.Option(None, "--rpc", envvar="PEERHOST_RPC_URL", help="JSON-RPC URL."),
    ws: str | None = typer.Option(None, "--ws", envvar="PEERHOST_WS_URL", help="WebSocket RPC URL (else polling)."),
    coordinator: str | None = typer.Option(None, "--coordinator", envvar="PEERHOST_COORDINATOR"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8080, "--port"),
    domain: str | None = typer.Option(None, "--domain", help="Serve <owner>.<domain>/<project>/<function>."),
    state_dir: Path = typer.Option(Path(".peerhost/gateway"), "--state-dir"),
    key_env: str = typer.Option(DEFAULT_KEY_ENV, "--key-env"),
    keystore: Path | None = typer.Option(None, "--keystore", envvar="PEERHOST_KEYSTORE"),
    anvil_account: int | None = typer.Option(None, "--anvil-account", min=0, max=9),
    max_body: int = typer.Option(1024 * 1024, "--max-body", help="Largest request body in bytes."),
    facilitator: str | None = typer.Option(None, "--facilitator", envvar="PEERHOST_FACILITATOR_URL",
                                           help="x402 facilitator URL: needed to serve priced functions."),
    usdc: str | None = typer.Option(None, "--usdc", help="Payment token (default: the chain's known USDC)."),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Run a gateway: the HTTP front door that turns calls into on-chain execution requests."""
    rpc_url = require(rpc, "--rpc", "rpc_url")
    config = GatewayConfig(
        rpc_url=rpc_url,
        coordinator=require(coordinator, "--coordinator", "contracts.coordinator"),
        account=signer(key_env, keystore, anvil_account, rpc_url),
        state_dir=state_dir,
        ws_url=ws,
        domain=domain,
        max_body_bytes=max_body,
        facilitator_url=facilitator,
        usdc=usdc,
    )
    uvicorn.run(create_gateway_app(config), host=host, port=port, log_level=log_level, access_log=False)


worker_app = typer.Typer(help="Run a worker, or manage its earnings.", invoke_without_command=True)


@worker_app.callback()
def worker(
    ctx: typer.Context,
    rpc: str | None = typer.Option(None, "--rpc", envvar="PEERHOST_RPC_URL"),
    ws: str | None = typer.Option(None, "--ws", envvar="PEERHOST_WS_URL", help="WebSocket RPC URL (else polling)."),
    coordinator: str | None = typer.Option(None, "--coordinator", envvar="PEERHOST_COORDINATOR"),
    gateway_url: str | None = typer.Option(None, "--gateway", envvar="PEERHOST_GATEWAY_URL",
                                           help="Gateway to fetch content from and deliver results to."),
    state_dir: Path | None = typer.Option(None, "--state-dir", help="Default: .peerhost/worker-<address>."),
    key_env: str = typer.Option(DEFAULT_KEY_ENV, "--key-env"),
    keystore: Path | None = typer.Option(None, "--keystore", envvar="PEERHOST_KEYSTORE"),
    anvil_account: int | None = typer.Option(None, "--anvil-account", min=0, max=9),
    stake: float = typer.Option(1.0, "--stake", help="Stake in ether when registering."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, help="Invocations at once."),
    warm: int = typer.Option(2, "--warm", min=0, help="Sandboxes kept ready."),
    grace: float = typer.Option(2.0, "--grace", help="Seconds before stepping in for missing commits."),
    metrics_port: int | None = typer.Option(None, "--metrics-port", help="Serve Prometheus metrics on 127.0.0.1:PORT."),
    uid_base: int = typer.Option(200_000, "--uid-base", help="First host uid of this worker's sandboxes."),
    lie: bool = typer.Option(False, "--lie", hidden=True, help="Test only: answer every request wrongly."),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Run a worker: stake, follow execution requests, run them in sandboxes, earn rewards."""
    rpc_url = require(rpc, "--rpc", "rpc_url")
    account = signer(key_env, keystore, anvil_account, rpc_url)
    config = WorkerConfig(
        rpc_url=rpc_url,
        coordinator=require(coordinator, "--coordinator", "contracts.coordinator"),
        account=account,
        gateway_url=require(gateway_url, "--gateway", "gateway_url").rstrip("/"),
        state_dir=state_dir or Path(f".peerhost/worker-{account.address.lower()}"),
        ws_url=ws,
        stake_wei=int(stake * 10**18),
        concurrency=concurrency,
        warm_sandboxes=warm,
        grace_s=grace,
        metrics_port=metrics_port,
        lie=lie,
        sandbox=SandboxConfig(uid_base=uid_base, uid_count=1000),
    )
    ctx.obj = config
    if ctx.invoked_subcommand is not None:
        return
    configure_logging(log_level)
    node = Worker(config)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, node.stop)
        await node.run()

    try:
        asyncio.run(main())
    except OSError as exc:
        raise PeerHostError(f"worker failed: {exc}") from None


@worker_app.command("withdraw")
def withdraw(ctx: typer.Context) -> None:
    """Withdraw the worker's rewards (and released stake)."""
    node = Worker(ctx.obj)

    async def main() -> int:
        from peerhost.chain.coordinator import Coordinator
        from peerhost.chain.rpc import RPC, TxSender

        rpc = RPC(ctx.obj.rpc_url)
        node.coordinator = Coordinator(rpc, ctx.obj.coordinator, TxSender(rpc, ctx.obj.account, await rpc.chain_id()))
        try:
            return await node.withdraw()
        finally:
            await rpc.aclose()

    amount = asyncio.run(main())
    print(f"withdrew {amount / 10**18:.6f} ether" if amount else "nothing to withdraw")


def facilitator(
    rpc: str | None = typer.Option(None, "--rpc", envvar="PEERHOST_RPC_URL", help="JSON-RPC URL of the payment chain."),
    network: str | None = typer.Option(None, "--network", help="CAIP-2 network (default: eip155:<chain id of --rpc>)."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8402, "--port"),
    key_env: str = typer.Option(DEFAULT_KEY_ENV, "--key-env", help="Variable holding the facilitator's own key."),
    keystore: Path | None = typer.Option(None, "--keystore", envvar="PEERHOST_KEYSTORE"),
    anvil_account: int | None = typer.Option(None, "--anvil-account", min=0, max=9),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Run an x402 facilitator (/verify, /settle, /supported) that settles on one EVM chain with its own key."""
    from peerhost.chain.tx import connect
    from peerhost.payments.facilitator import create_facilitator_app
    from peerhost.payments.networks import caip2

    rpc_url = require(rpc, "--rpc", "rpc_url")
    account = signer(key_env, keystore, anvil_account, rpc_url)
    network = network or caip2(connect(rpc_url).eth.chain_id)
    app = create_facilitator_app(rpc_url, "0x" + account.key.hex().removeprefix("0x"), [network])
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
