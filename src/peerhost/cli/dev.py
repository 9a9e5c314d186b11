"""`peerhost dev`: a local PeerHost network in one command."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import typer
from rich.console import Console

from peerhost.devnet.network import Devnet, DevnetConfig


def dev(
    workers: int = typer.Option(3, "--workers", min=1, max=6, help="Worker processes."),
    port: int = typer.Option(8080, "--port", help="Port of the gateway."),
    chain_port: int = typer.Option(8545, "--chain-port", help="Port of the local chain's RPC."),
    block_time: float = typer.Option(0, "--block-time", min=0, help="Seconds per block (0 = mine every transaction)."),
    state_dir: Path = typer.Option(Path(".peerhost"), "--state-dir", help="Where devnet.json and logs go."),
    as_json: bool = typer.Option(False, "--json", help="Print the network description as JSON."),
) -> None:
    """Start a local network: chain, contracts, gateway, workers, the examples deployed. Ctrl-C stops it."""
    console = Console(stderr=True)
    devnet = Devnet(DevnetConfig(workers=workers, port=port, chain_port=chain_port, block_time=block_time,
                                 state_dir=state_dir))  # fmt: skip
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with console.status("starting the devnet") as status:
        info = devnet.start(progress=status.update)
    try:
        if as_json:
            print(json.dumps(info, indent=2), flush=True)
        else:
            print(f"gateway      {info['gateway_url']}")
            print(f"chain        {info['rpc_url']}  (chain id {info['chain_id']}, ws {info['ws_url']})")
            print(f"coordinator  {info['contracts']['coordinator']}")
            print(f"TestUSDC     {info['contracts']['usdc']}")
            print(f"workers      {len(info['workers'])}  (logs in {state_dir / 'logs'})")
            for fn in info["functions"]:
                price = "free" if fn["price"] in ("0", "0.0") else f"{fn['price']} USDC"
                print(f"function     {fn['url']}  ({price})")
            if any(fn["name"] == "hello" for fn in info["functions"]):
                hello = next(fn for fn in info["functions"] if fn["name"] == "hello")
                print(f"\ntry:  curl '{hello['url']}?name=you'")
            print(f"state        {state_dir / 'devnet.json'}", flush=True)
            console.print("[green]devnet running[/] — Ctrl-C stops it")
        stop.wait()
    finally:
        console.print("stopping the devnet")
        devnet.stop()
