"""`peerhost build`: build a project's functions into content-addressed bundles."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from peerhost.bundle.builder import build_project
from peerhost.bundle.source import checkout


def build(
    source: str = typer.Argument(".", help="Project folder or git URL."),
    ref: str | None = typer.Option(None, "--ref", help="Branch, tag or commit of a git URL (default: its default branch)."),
    out: Path | None = typer.Option(None, "--out", help="Also write each bundle to OUT/<cid>.tar."),
    cid_version: int = typer.Option(1, "--cid-version", min=0, max=1, help="CID version of the bundles."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Build every function of a project; print name, CID and size of each bundle."""
    console = Console(stderr=True)
    with console.status(f"building {source}"), checkout(source, ref) as project_dir:
        result = build_project(project_dir, cid_version=cid_version)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for fn in result.functions:
            (out / f"{fn.cid}.tar").write_bytes(fn.archive)
    if as_json:
        print(json.dumps({
            "project": result.project,
            "functions": [
                {"name": fn.name, "cid": str(fn.cid), "size": fn.size, "runtime": fn.runtime,
                 "files": list(fn.files), "price": str(fn.config.price)}
                for fn in result.functions
            ],
        }, indent=2))  # fmt: skip
        return
    width = max(len(fn.name) for fn in result.functions)
    for fn in result.functions:
        print(f"{fn.name:<{width}}  {fn.cid}  {fn.size}")
