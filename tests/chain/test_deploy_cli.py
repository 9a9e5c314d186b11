"""`peerhost chain deploy` against real anvil chains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from eth_account import Account
from web3 import Web3

from peerhost.chain.anvil import Anvil
from peerhost.chain.artifacts import load_artifact
from peerhost.chain.keys import ANVIL_KEYS


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PEERHOST_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "peerhost.cli.main", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120,
    )  # fmt: skip


def test_deploy_with_env_key_writes_deployment_file(anvil: Anvil, tmp_path: Path) -> None:
    key = ANVIL_KEYS[3]
    result = run_cli(
        "chain", "deploy", "--rpc", anvil.rpc_url, "--out", str(tmp_path / "deployments"),
        "--min-stake", "0.5", "--fee-gwei", "2000", "--free-quota", "7",
        env={"PEERHOST_PRIVATE_KEY": key},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert key[2:] not in result.stdout + result.stderr, "the key must never be printed"

    data = json.loads((tmp_path / "deployments" / "31337.json").read_text())
    deployer = Account.from_key(key).address
    assert data["chain_id"] == 31337
    assert data["deployer"] == deployer
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
    coord_info, usdc_info = data["contracts"]["coordinator"], data["contracts"]["usdc"]
    assert coord_info["address"] in result.stdout
    for info in (coord_info, usdc_info):
        assert w3.eth.get_code(info["address"]) != b""
        receipt = w3.eth.get_transaction_receipt(info["tx_hash"])
        assert receipt["blockNumber"] == info["block_number"]
        assert receipt["contractAddress"] == info["address"]

    coord = w3.eth.contract(address=coord_info["address"], abi=load_artifact("ExecutionCoordinator").abi)
    assert coord.functions.owner().call() == deployer
    params = coord.functions.parameters().call()
    assert params[0] == Web3.to_wei(0.5, "ether")
    assert params[3] == 2000
    assert params[6] == 7
    assert coord.functions.REVEAL_WINDOW().call() == data["settings"]["reveal_window"]

    usdc = w3.eth.contract(address=usdc_info["address"], abi=load_artifact("TestUSDC").abi)
    assert usdc.functions.name().call() == "USDC"
    assert usdc.functions.version().call() == "2"
    assert usdc.functions.decimals().call() == 6
    assert usdc.functions.owner().call() == deployer


def test_deploy_json_output_and_no_usdc(anvil: Anvil, tmp_path: Path) -> None:
    result = run_cli(
        "chain", "deploy", "--rpc", anvil.rpc_url, "--anvil-account", "4", "--no-usdc", "--json",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "usdc" not in data["contracts"]
    assert data == json.loads((tmp_path / "31337.json").read_text())


def test_deploy_from_keystore(anvil: Anvil, tmp_path: Path) -> None:
    keystore = tmp_path / "deployer.json"
    keystore.write_text(json.dumps(Account.encrypt(ANVIL_KEYS[5], "s3cret", iterations=2)))
    ok = run_cli(
        "chain", "deploy", "--rpc", anvil.rpc_url, "--keystore", str(keystore), "--out", str(tmp_path),
        env={"PEERHOST_KEYSTORE_PASSWORD": "s3cret"},
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "31337.json").read_text())["deployer"] == Account.from_key(ANVIL_KEYS[5]).address

    wrong = run_cli(
        "chain", "deploy", "--rpc", anvil.rpc_url, "--keystore", str(keystore), "--out", str(tmp_path),
        env={"PEERHOST_KEYSTORE_PASSWORD": "nope"},
    )  # fmt: skip
    assert wrong.returncode == 1
    assert "could not decrypt keystore" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_deploy_errors_are_one_clear_line(anvil: Anvil, tmp_path: Path) -> None:
    no_key = run_cli("chain", "deploy", "--rpc", anvil.rpc_url, "--out", str(tmp_path))
    assert no_key.returncode == 1
    assert "no signing key: set PEERHOST_PRIVATE_KEY" in no_key.stderr

    dead = run_cli("chain", "deploy", "--rpc", "http://127.0.0.1:9", "--anvil-account", "0", "--out", str(tmp_path))
    assert dead.returncode == 1
    assert "cannot reach the RPC at http://127.0.0.1:9" in dead.stderr

    bad_window = run_cli(
        "chain", "deploy", "--rpc", anvil.rpc_url, "--anvil-account", "0", "--commit-window", "5",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert bad_window.returncode == 1
    assert "commit window must be longer than the takeover window" in bad_window.stderr

    bad_owner = run_cli("chain", "deploy", "--rpc", anvil.rpc_url, "--anvil-account", "0", "--owner", "0x12")
    assert bad_owner.returncode == 1
    assert "--owner is not an address" in bad_owner.stderr

    for out in (no_key, dead, bad_window, bad_owner):
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "31337.json").exists(), "a failed deploy writes nothing"


def test_anvil_dev_keys_are_refused_on_other_chains(tmp_path: Path) -> None:
    with Anvil(chain_id=80002) as amoy_like:
        result = run_cli("chain", "deploy", "--rpc", amoy_like.rpc_url, "--anvil-account", "0", "--out", str(tmp_path))
        assert result.returncode == 1
        assert "only for a local anvil" in result.stderr
        # With a real key it deploys to any chain id and names the file after it.
        ok = run_cli(
            "chain", "deploy", "--rpc", amoy_like.rpc_url, "--out", str(tmp_path),
            env={"PEERHOST_PRIVATE_KEY": ANVIL_KEYS[1]},
        )  # fmt: skip
        assert ok.returncode == 0, ok.stderr
        assert json.loads((tmp_path / "80002.json").read_text())["chain_id"] == 80002


def test_help_and_version() -> None:
    assert "chain" in run_cli("--help").stdout
    assert run_cli("--version").stdout.strip().startswith("peerhost ")
    assert "--rpc" in run_cli("chain", "deploy", "--help").stdout
