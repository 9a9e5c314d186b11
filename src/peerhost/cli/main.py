"""The `peerhost` command line."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from peerhost import __version__
from peerhost.cli import build, chain, deploy, dev, network, run, storage
from peerhost.errors import PeerHostError

app = typer.Typer(
    name="peerhost",
    help="PeerHost: deploy functions as HTTP endpoints run by staked workers, coordinated on an EVM chain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(chain.app, name="chain")
app.command("dev")(dev.dev)
app.command("cid")(storage.cid)
app.command("build")(build.build)
app.command("run")(run.run)
app.command("gateway")(network.gateway)
app.command("facilitator")(network.facilitator)
app.add_typer(network.worker_app, name="worker")
app.command("deploy")(deploy.deploy)
app.command("call")(deploy.call)
app.command("logs")(deploy.logs)
app.command("status")(deploy.status)
app.command("earnings")(deploy.earnings_cmd)


def _version(value: bool) -> None:
    if value:
        print(f"peerhost {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """PeerHost command line."""


def main() -> None:
    """Entry point: typer handles usage errors (exit 2); PeerHost errors become one clear line (exit 1)."""
    try:
        app()
    except PeerHostError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
