"""`peerhost dev`: the README's flow — start the network, curl the printed URL, stop cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from web3 import Web3

from peerhost.chain.anvil import free_port
from peerhost.chain.artifacts import load_artifact
from peerhost.chain.keys import ANVIL_KEYS, account_from_key
from peerhost.devnet.network import TREASURY_ETHER, USDC_PER_ACCOUNT


def test_dev_runs_the_network_and_stops_on_sigterm(tmp_path: Path) -> None:
    gateway_port, chain_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "peerhost.cli.main", "dev", "--port", str(gateway_port), "--chain-port", str(chain_port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PEERHOST_")},
    )  # fmt: skip
    state = tmp_path / ".peerhost" / "devnet.json"
    printed = []
    try:
        deadline = time.monotonic() + 120
        while not state.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "devnet did not start"
            time.sleep(0.2)
        assert proc.stdout is not None
        while not any(line.startswith("state") for line in printed):
            printed.append(proc.stdout.readline())
        info = json.loads(state.read_text())
        assert set(info) >= {"chain_id", "rpc_url", "ws_url", "gateway_url", "contracts", "workers", "functions"}
        assert info["gateway_url"] == f"http://127.0.0.1:{gateway_port}"
        assert len(info["workers"]) == 3 and all(w["pid"] > 0 for w in info["workers"])
        assert {f["name"] for f in info["functions"]} >= {"hello", "echo", "forecast"}
        paid = next(f for f in info["functions"] if f["name"] == "echo")
        assert paid["price"] == "0.01"

        # What the README says: curl the printed URL.
        url = re.search(r"curl '([^']+)'", "".join(printed)).group(1)
        r = httpx.get(url, timeout=60)
        assert r.status_code == 200 and r.json() == {"message": "hello you"}

        w3 = Web3(Web3.HTTPProvider(info["rpc_url"]))
        coord = w3.eth.contract(address=info["contracts"]["coordinator"], abi=load_artifact("ExecutionCoordinator").abi)
        usdc = w3.eth.contract(address=info["contracts"]["usdc"], abi=load_artifact("TestUSDC").abi)
        assert coord.functions.treasury().call() <= Web3.to_wei(TREASURY_ETHER, "ether")
        assert usdc.functions.balanceOf(account_from_key(ANVIL_KEYS[5]).address).call() == USDC_PER_ACCOUNT
        pids = [info["processes"]["anvil"], info["processes"]["gateway"], *[w["pid"] for w in info["workers"]]]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr.read()
    assert not state.exists(), "devnet.json is removed when the network stops"
    for pid in pids:
        alive = Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
        assert not alive, f"process {pid} outlived the devnet"
