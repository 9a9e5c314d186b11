"""`peerhost dev`: the local network starts, is funded, and stops cleanly."""

from __future__ import annotations

import json
import os
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


def test_dev_starts_funded_network_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "peerhost.cli.main", "dev", "--port", str(port), "--json"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PEERHOST_")},
    )  # fmt: skip
    try:
        state = tmp_path / ".peerhost" / "devnet.json"
        deadline = time.monotonic() + 60
        while not state.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "devnet did not start"
            time.sleep(0.1)
        info = json.loads(state.read_text())
        assert info["chain_id"] == 31337
        assert info["rpc_url"] == f"http://127.0.0.1:{port}"
        w3 = Web3(Web3.HTTPProvider(info["rpc_url"]))
        coord = w3.eth.contract(address=info["contracts"]["coordinator"],
                                abi=load_artifact("ExecutionCoordinator").abi)  # fmt: skip
        usdc = w3.eth.contract(address=info["contracts"]["usdc"], abi=load_artifact("TestUSDC").abi)
        assert coord.functions.treasury().call() == Web3.to_wei(TREASURY_ETHER, "ether")
        for key in ANVIL_KEYS:
            assert usdc.functions.balanceOf(account_from_key(key).address).call() == USDC_PER_ACCOUNT
        anvil_pid = info["processes"]["anvil"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read()
    assert not state.exists(), "devnet.json is removed when the network stops"
    try:
        httpx.post(info["rpc_url"], json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=2)
        raise AssertionError("anvil still answers after the devnet stopped")
    except httpx.TransportError:
        pass
    assert not Path(f"/proc/{anvil_pid}").exists() or "zombie" in Path(f"/proc/{anvil_pid}/status").read_text().lower()
