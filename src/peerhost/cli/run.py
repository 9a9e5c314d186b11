"""`peerhost run`: run a function locally, in exactly the sandbox the workers use."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from peerhost.bundle.errors import BundleError
from peerhost.sandbox.local import find_project, run_local, select_function
from peerhost.sandbox.runner import HttpRequest


def _pairs(values: list[str], sep: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        key, found, rest = value.partition(sep)
        if not found or not key.strip():
            raise BundleError(f"{what} {value!r} is not KEY{sep}VALUE")
        pairs.append((key.strip(), rest.strip() if sep == ":" else rest))
    return pairs


def run(
    function: str = typer.Argument(..., help="Function file (functions/x.py) or function name."),
    project: Path | None = typer.Option(None, "--project", help="Project folder (default: found above the file)."),
    method: str = typer.Option("GET", "--method", "-X", help="HTTP method."),
    path: str = typer.Option("/", "--path", help="Request path below the function."),
    query: list[str] = typer.Option([], "--query", "-q", help="Query parameter k=v (repeatable)."),
    header: list[str] = typer.Option([], "--header", "-H", help="Header k:v (repeatable)."),
    data: str | None = typer.Option(None, "--data", "-d", help="Request body, or @file to read it from a file."),
    env: list[str] = typer.Option([], "--env", "-e", help="Secret KEY=VALUE for a declared env name (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print response, logs and stats as JSON."),
) -> None:
    """Run FUNCTION once in the sandbox and print its response and stats (exit 0 only for a response)."""
    err = Console(stderr=True, highlight=False)
    if project is None:
        if not Path(function).exists():
            raise BundleError(f"{function} is not a file: pass --project DIR to run a function by name")
        project = find_project(Path(function))
    body = b""
    if data is not None:
        if data.startswith("@"):
            try:
                body = Path(data[1:]).read_bytes()
            except OSError as exc:
                raise BundleError(f"cannot read {data[1:]}: {exc.strerror}") from None
        else:
            body = data.encode()
    request = HttpRequest(method.upper(), path if path.startswith("/") else "/" + path,
                          tuple(_pairs(query, "=", "query")),
                          tuple((k.lower(), v) for k, v in _pairs(header, ":", "header")), body)  # fmt: skip
    fn = select_function(project, function)
    with err.status(f"running {fn.name} in the sandbox"):
        result = run_local(fn, request, dict(_pairs(env, "=", "env")))

    if as_json:
        text = None
        try:
            text = result.body.decode()
        except UnicodeDecodeError:
            pass
        print(json.dumps({
            "function": fn.name, "cid": str(fn.cid), "status": result.status, "headers": result.headers,
            "body": text, "body_base64": None if text is not None else base64.b64encode(result.body).decode(),
            "error": result.error, "logs": result.logs, "logs_truncated": result.logs_truncated,
            "stats": result.stats, "network_calls": result.network_calls,
        }, indent=2))  # fmt: skip
    else:
        if result.logs:
            err.print(f"[dim]{result.logs.rstrip()}[/]", markup=True)
        if result.ok:
            print(f"HTTP {result.status}")
            for key, value in sorted(result.headers.items()):
                print(f"{key}: {value}")
            print()
            sys.stdout.buffer.write(result.body + (b"" if result.body.endswith(b"\n") else b"\n"))
        else:
            err.print(f"[bold red]error:[/] the function failed: {result.error}", markup=True)
        s = result.stats
        calls = ", ".join(f"{c['host']}:{c['port']} {'allowed' if c['allowed'] else 'denied'}" for c in result.network_calls)
        err.print(f"wall {s.get('wall_ms', 0):.1f} ms · cpu {s.get('cpu_ms', 0):.1f} ms · "
                  f"peak memory {s.get('peak_memory_kb', 0) / 1024:.1f} MiB · network calls {len(result.network_calls)}"
                  + (f" ({calls})" if calls else ""))  # fmt: skip
    raise typer.Exit(0 if result.ok else 1)
