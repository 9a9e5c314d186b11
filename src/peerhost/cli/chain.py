"""`peerhost chain …`: deploy and inspect PeerHost's contracts on any EVM chain."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.console import Console
from web3 import Web3

from peerhost.chain.deploy import CoordinatorSettings, deploy_contracts, write_deployment
from peerhost.chain.errors import ChainError
from peerhost.chain.keys import DEFAULT_KEY_ENV, signing_account
from peerhost.chain.tx import connect

app = typer.Typer(help="Deploy PeerHost's contracts to an EVM chain.", no_args_is_help=True)

_defaults = CoordinatorSettings()


def _ether_to_wei(value: str) -> int:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ChainError(f"not an amount of ether: {value!r}") from None
    if amount <= 0:
        raise ChainError("the minimum stake must be positive")
    return int(amount * 10**18)


@app.command("deploy")
def deploy(
    rpc: str = typer.Option(..., "--rpc", envvar="PEERHOST_RPC_URL", help="JSON-RPC URL of the chain."),
    key_env: str = typer.Option(DEFAULT_KEY_ENV, "--key-env", help="Environment variable holding the deployer key."),
    keystore: Path | None = typer.Option(
        None, "--keystore", envvar="PEERHOST_KEYSTORE", help="Encrypted JSON keystore of the deployer "
        "(password from PEERHOST_KEYSTORE_PASSWORD)."
    ),
    anvil_account: int | None = typer.Option(
        None, "--anvil-account", min=0, max=9, help="Use anvil's well-known dev key N (local anvil only)."
    ),
    owner: str | None = typer.Option(None, "--owner", help="Owner of both contracts (default: the deployer)."),
    out: Path = typer.Option(Path("deployments"), "--out", help="Folder for <chainId>.json."),
    no_usdc: bool = typer.Option(False, "--no-usdc", help="Do not deploy TestUSDC (networks with real USDC)."),
    min_stake: str = typer.Option("0.1", "--min-stake", help="Minimum worker stake, in ether."),
    fee_gwei: int = typer.Option(_defaults.fee_per_execution_gwei, "--fee-gwei", min=0,
                                 help="Fee per executing worker, in gwei."),
    commit_window: int = typer.Option(_defaults.commit_window, "--commit-window", min=1, help="Seconds."),
    reveal_window: int = typer.Option(_defaults.reveal_window, "--reveal-window", min=1, help="Seconds."),
    takeover_window: int = typer.Option(_defaults.takeover_window, "--takeover-window", min=1, help="Seconds."),
    unbonding_delay: int = typer.Option(_defaults.unbonding_delay, "--unbonding-delay", min=0, help="Seconds."),
    slash_bps: int = typer.Option(_defaults.slash_bps, "--slash-bps", min=0, max=10_000),
    primary_share_bps: int = typer.Option(_defaults.primary_share_bps, "--primary-share-bps", min=0, max=10_000),
    free_quota: int = typer.Option(_defaults.free_quota_per_period, "--free-quota", min=0,
                                   help="Free requests per account and period."),
    quota_period: int = typer.Option(_defaults.quota_period, "--quota-period", min=0, help="Seconds."),
    as_json: bool = typer.Option(False, "--json", help="Print the deployment as JSON."),
) -> None:
    """Deploy ExecutionCoordinator and TestUSDC; write deployments/<chainId>.json."""
    console = Console(stderr=True)
    settings = CoordinatorSettings(
        reveal_window=reveal_window,
        takeover_window=takeover_window,
        min_stake_wei=_ether_to_wei(min_stake),
        unbonding_delay=unbonding_delay,
        commit_window=commit_window,
        fee_per_execution_gwei=fee_gwei,
        slash_bps=slash_bps,
        primary_share_bps=primary_share_bps,
        free_quota_per_period=free_quota,
        quota_period=quota_period,
    )
    settings.validate()
    if owner is not None and not Web3.is_address(owner):
        raise ChainError(f"--owner is not an address: {owner!r}")

    w3 = connect(rpc)
    chain_id = w3.eth.chain_id
    account = signing_account(key_env=key_env, keystore=keystore, anvil_account=anvil_account, chain_id=chain_id)

    with console.status(f"deploying to chain {chain_id} from {account.address}") as status:
        deployment = deploy_contracts(
            w3, account, settings, owner=owner, with_usdc=not no_usdc, progress=lambda m: status.update(m)
        )
    path = write_deployment(deployment, out)
    if as_json:
        print(json.dumps(deployment.to_json(), indent=2))
        return
    console.print(f"[green]deployed[/] on chain {chain_id}")
    print(f"ExecutionCoordinator  {deployment.coordinator.address}  block {deployment.coordinator.block_number}")
    if deployment.usdc:
        print(f"TestUSDC              {deployment.usdc.address}  block {deployment.usdc.block_number}")
    print(f"wrote {path}")
