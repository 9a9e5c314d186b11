"""The `peerhost` command line."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from peerhost import __version__
from peerhost.cli import chain, dev
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
    """Entry point: runs the app and turns PeerHost errors into one clear line and exit code 1."""
    try:
        app(standalone_mode=False)
    except PeerHostError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    except typer.Abort:
        Console(stderr=True).print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
