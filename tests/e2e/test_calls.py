"""End to end on a real devnet with three worker processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from web3 import Web3

from tests.e2e.conftest import Network, write_project

STATUS = {1: "pending", 2: "finalized"}


def wait_status(net: Network, request_id: int, status: int = 2, timeout: float = 30) -> tuple:
    deadline = time.monotonic() + timeout
    while True:
        req = net.coordinator.functions.getRequest(request_id).call()
        if req[5] == status or time.monotonic() > deadline:
            return req
        time.sleep(0.1)


def test_free_call_is_answered_finalized_and_the_fastest_worker_paid(network: Network) -> None:
    r = network.get("hello", name="e2e")
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "hello e2e"}
    request_id = int(r.headers["x-peerhost-request-id"])
    worker = r.headers["x-peerhost-worker"]
    assert r.headers["x-peerhost-result-hash"].startswith("0x") and len(r.headers["x-peerhost-result-hash"]) == 66
    assert worker in {w["address"] for w in network.devnet.describe()["workers"]}
    req = wait_status(network, request_id)
    assert req[5] == 2, "finalized on-chain"
    finalized = network.coordinator.events.RequestFinalized().get_logs(from_block=0,
                                                                       argument_filters={"requestId": request_id})  # fmt: skip
    assert finalized[0]["args"]["winner"] == worker
    assert "0x" + finalized[0]["args"]["resultHash"].hex() == r.headers["x-peerhost-result-hash"]
    assert network.coordinator.functions.owed(worker).call() >= finalized[0]["args"]["reward"] > 0


def test_quorum_function_answers_with_the_agreed_result(network: Network) -> None:
    r = network.get("quorum", a="2", b="40")
    assert r.status_code == 200, r.text
    request_id = int(r.headers["x-peerhost-request-id"])
    assert r.json() == {"sum": 42, "id": str(request_id)}
    req = wait_status(network, request_id)
    assert req[5] == 2 and req[4] == 3, "three workers committed"
    event = network.coordinator.events.RequestFinalized().get_logs(from_block=0, argument_filters={"requestId": request_id})[0]
    assert event["args"]["majority"] == 3
    assert "0x" + event["args"]["resultHash"].hex() == r.headers["x-peerhost-result-hash"]


def test_finalized_policy_answers_after_the_contract_finalized(network: Network) -> None:
    r = network.get("final", x="yes")
    assert r.status_code == 200 and r.text == "finalized yes"
    req = network.coordinator.functions.getRequest(int(r.headers["x-peerhost-request-id"])).call()
    assert req[5] == 2, "the answer came only once the request was final"


def test_a_raising_function_is_a_502_with_logs_holding_the_traceback(network: Network) -> None:
    r = network.get("boom")
    assert r.status_code == 502
    body = r.json()
    assert body["error"]["code"] == "function_failed"
    request_id = body["error"]["request_id"]
    assert r.headers["x-peerhost-request-id"] == request_id
    assert "kaboom" not in r.text, "the traceback stays out of the response"
    env = {**os.environ, "PEERHOST_STATE_DIR": str(network.devnet.state_dir)}
    logs = subprocess.run([sys.executable, "-m", "peerhost.cli.main", "logs", request_id, "--gateway",
                           network.devnet.gateway_url], capture_output=True, text=True, env=env)  # fmt: skip
    assert logs.returncode == 0, logs.stderr
    assert "failed" in logs.stdout and "error: exception" in logs.stdout
    assert "about to fail" in logs.stdout
    assert "RuntimeError: kaboom from the function" in logs.stdout and "Traceback" in logs.stdout


def test_errors_unknown_function_oversized_body_and_bad_deliveries(network: Network) -> None:
    base = network.devnet.gateway_url
    owner = network.devnet.describe()["functions"][0]["owner"]
    unknown = network.http.get(f"{base}/{owner}/hello/nope")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_function"
    assert unknown.json()["error"]["request_id"]
    assert network.http.get(f"{base}/not-an-owner/x/y").status_code == 404
    big = network.http.post(network.url["echo-free"], content=b"x" * (1024 * 1024 + 1))
    assert big.status_code == 413 and big.json()["error"]["code"] == "body_too_large"
    ok = network.http.post(network.url["echo-free"], json={"round": "trip"})
    assert ok.status_code == 200 and ok.json() == {"round": "trip"}
    forged = network.http.post(f"{base}/_peerhost/results", json={
        "request_id": 1, "worker": owner, "result": {"v": 1, "status": 200, "headers": {}, "body": ""},
        "input_hash": "0x" + "00" * 32, "code_hash": "0x" + "00" * 32, "signature": "0x" + "11" * 65})  # fmt: skip
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "bad_signature"
    assert network.http.post(f"{base}/_peerhost/results", content=b"{nope").status_code == 400
    assert network.http.get(f"{base}/healthz").json()["ok"] is True
    assert "peerhost_gateway_requests_total" in network.http.get(f"{base}/metrics").text
    assert network.http.get(f"{base}/openapi.json").json()["openapi"].startswith("3.")


def test_request_status_survives_a_gateway_restart(network: Network) -> None:
    r = network.get("hello", name="persist")
    request_id = r.headers["x-peerhost-request-id"]
    devnet = network.devnet
    devnet.gateway.send_signal(signal.SIGTERM)
    devnet.gateway.wait(timeout=30)
    assert devnet.deployment is not None
    devnet.start_gateway()
    record = network.http.get(f"{devnet.gateway_url}/_peerhost/requests/{request_id}").json()
    assert record["status"] == "ok" and record["http_status"] == 200
    assert record["chain"]["status"] in ("pending", "finalized")
    assert network.get("hello", name="after").json() == {"message": "hello after"}


def test_deploy_from_a_local_folder_and_from_git_over_loopback(network: Network, tmp_path: Path) -> None:
    project = write_project(tmp_path / "proj", {
        "peerhost.toml": '[project]\nname = "deployed"\n',
        "functions/ver.py": "def handler(request, ctx=None):\n    return 'v1'\n",
    })  # fmt: skip
    first = network.devnet.deploy(project)[0]
    assert first["version"] == 1
    assert network.http.get(first["url"]).text == "v1"
    again = network.devnet.deploy(project)[0]
    assert again["version"] == 1, "re-deploying unchanged code is a no-op"
    (project / "functions" / "ver.py").write_text("def handler(request, ctx=None):\n    return 'v2'\n")

    # The changed project, served by git daemon on loopback, deployed from its URL.
    git_env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "v2"]):
        subprocess.run(["git", *args], cwd=project, check=True, env=git_env)
    bare = tmp_path / "repos" / "proj.git"
    bare.parent.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(project), str(bare)], check=True)
    shutil.rmtree(project / ".git")
    from peerhost.chain.anvil import free_port

    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={bare.parent}",
                               "--listen=127.0.0.1", f"--port={port}", str(bare.parent)])  # fmt: skip
    try:
        url = f"git://127.0.0.1:{port}/proj.git"
        for _ in range(100):
            if subprocess.run(["git", "ls-remote", url], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        env = {**os.environ, "PEERHOST_STATE_DIR": str(network.devnet.state_dir)}
        out = subprocess.run([sys.executable, "-m", "peerhost.cli.main", "deploy", url, "--anvil-account", "1", "--json"],
                             capture_output=True, text=True, env=env, cwd=tmp_path)  # fmt: skip
        assert out.returncode == 0, out.stderr
        deployed = json.loads(out.stdout)[0]
        assert deployed["version"] == 2 and deployed["status"] == "deployed"
        assert network.http.get(deployed["url"]).text == "v2"
    finally:
        daemon.terminate()
        daemon.wait()


def test_function_ids_are_per_owner(network: Network) -> None:
    owner = network.devnet.describe()["functions"][0]["owner"]
    other = Web3.to_checksum_address("0x" + "12" * 20)
    r = httpx.get(network.url["hello"].replace(owner, other))
    assert r.status_code == 404


def test_deployment_secrets_reach_only_the_sandbox(network: Network, tmp_path: Path) -> None:
    import hashlib

    project = write_project(tmp_path / "sec", {
        "peerhost.toml": '[project]\nname = "sec"\n[functions.reveal]\nenv = ["API_KEY"]\ntimeout_ms = 2000\n',
        "functions/reveal.py": "import hashlib, os\n\ndef handler(request, ctx=None):\n"
                               "    return {'sha': hashlib.sha256(ctx.env['API_KEY'].encode()).hexdigest(),\n"
                               "            'environ': os.environ.get('API_KEY') == ctx.env['API_KEY']}\n",
    })  # fmt: skip
    secret = "s3cr3t-" + os.urandom(8).hex()
    fn = network.devnet.deploy(project, env={"API_KEY": secret})[0]
    r = network.http.get(fn["url"])
    assert r.status_code == 200, r.text
    assert r.json() == {"sha": hashlib.sha256(secret.encode()).hexdigest(), "environ": True}
    # The value exists nowhere but in the sandbox: not in the gateway's database or store, not on-chain.
    gateway_files = [p for p in (network.devnet.state_dir / "gateway").rglob("*") if p.is_file()]
    assert gateway_files and not any(secret.encode() in p.read_bytes() for p in gateway_files)
    latest = network.w3.eth.block_number
    for n in range(max(0, latest - 30), latest + 1):
        for tx in network.w3.eth.get_block(n, full_transactions=True)["transactions"]:
            assert secret.encode().hex() not in tx["input"].hex()
    # Only the function's owner may set them.
    from peerhost.chain.keys import ANVIL_KEYS, account_from_key
    from peerhost.protocol.secrets import SecretsDoc

    function_id = network.coordinator.functions.functionIdOf(account_from_key(ANVIL_KEYS[1]).address, "sec", "reveal").call()
    doc = SecretsDoc.create(function_id, {"API_KEY": "forged"}, {}, 1)
    forged = network.http.put(f"{network.devnet.gateway_url}/_peerhost/secrets/0x{function_id.hex()}",
                              json={"document": doc.body(), "signature": doc.sign(account_from_key(ANVIL_KEYS[7]))})  # fmt: skip
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "not_owner"
    undeclared = subprocess.run([sys.executable, "-m", "peerhost.cli.main", "deploy", str(project), "--anvil-account", "1",
                                 "--env", "OTHER=1"], capture_output=True, text=True,
                                env={**os.environ, "PEERHOST_STATE_DIR": str(network.devnet.state_dir)})  # fmt: skip
    assert undeclared.returncode == 1 and "OTHER: not declared" in undeclared.stderr


def test_worker_withdraw_status_and_metrics(network: Network) -> None:
    from peerhost.chain.keys import ANVIL_KEYS, account_from_key

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PEERHOST_")},
           "PEERHOST_STATE_DIR": str(network.devnet.state_dir)}  # fmt: skip
    for i in range(3):
        network.get("hello", name=f"earn{i}")
    earner = next(i for i in range(3)
                  if network.coordinator.functions.owed(account_from_key(ANVIL_KEYS[2 + i]).address).call() > 0)  # fmt: skip
    address = account_from_key(ANVIL_KEYS[2 + earner]).address
    owed = network.coordinator.functions.owed(address).call()
    before = network.w3.eth.get_balance(address)
    out = subprocess.run([sys.executable, "-m", "peerhost.cli.main", "worker", "--anvil-account", str(2 + earner),
                          "withdraw"], capture_output=True, text=True, env=env)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("withdrew ")
    assert network.coordinator.functions.owed(address).call() == 0
    assert network.w3.eth.get_balance(address) > before + owed // 2  # minus the transaction's gas
    again = subprocess.run([sys.executable, "-m", "peerhost.cli.main", "worker", "--anvil-account", str(2 + earner),
                            "withdraw"], capture_output=True, text=True, env=env)  # fmt: skip
    assert "nothing to withdraw" in again.stdout

    (network.devnet.state_dir / "devnet.json").write_text(json.dumps(network.devnet.describe()))
    status = subprocess.run([sys.executable, "-m", "peerhost.cli.main", "status", "--json"], capture_output=True,
                            text=True, env=env, cwd=network.devnet.state_dir.parent)  # fmt: skip
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["health"]["ok"] is True and data["health"]["payments"]["network"] == "eip155:31337"
    assert len(data["devnet"]["workers"]) >= 3
