"""A whole network per test module: anvil, contracts, gateway and worker processes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest
from web3 import Web3

from peerhost.chain.anvil import free_port
from peerhost.chain.artifacts import load_artifact
from peerhost.devnet.network import Devnet, DevnetConfig

E2E_PROJECT = {
    "peerhost.toml": """
        [project]
        name = "e2e"
        [functions.quorum]
        redundancy = 3
        verify = "quorum"
        timeout_ms = 2000
        [functions.final]
        redundancy = 1
        verify = "finalized"
        timeout_ms = 2000
        [functions.boom]
        timeout_ms = 2000
        [functions.echo-free]
        timeout_ms = 2000
    """,
    "functions/quorum.py": "def handler(request, ctx=None):\n    return {'sum': sum(int(v) for v in request.query.values()), 'id': ctx.request_id}\n",
    "functions/final.py": "def handler(request, ctx=None):\n    return 'finalized ' + request.query.get('x', '')\n",
    "functions/boom.py": "def inner():\n    raise RuntimeError('kaboom from the function')\n\ndef handler(request, ctx=None):\n    print('about to fail')\n    inner()\n",
    "functions/echo-free.py": "def handler(request, ctx=None):\n    return request.json()\n",
}


def write_project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


class Network:
    def __init__(self, devnet: Devnet, functions: dict[str, str]) -> None:
        self.devnet = devnet
        self.url = functions
        self.w3 = Web3(Web3.HTTPProvider(devnet.anvil.rpc_url))
        self.coordinator = self.w3.eth.contract(address=devnet.deployment.coordinator.address,
                                                abi=load_artifact("ExecutionCoordinator").abi)  # fmt: skip
        self.http = httpx.Client(timeout=120)

    def get(self, function: str, /, **params) -> httpx.Response:
        return self.http.get(self.url[function], params=params)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    state = tmp_path_factory.mktemp("devnet")
    devnet = Devnet(DevnetConfig(workers=3, port=free_port(), chain_port=free_port(), state_dir=state / ".peerhost"))
    devnet.start()
    try:
        urls = {f["name"]: f["url"] for f in devnet.functions}
        for fn in devnet.deploy(write_project(state / "e2e", E2E_PROJECT)):
            urls[fn["name"]] = fn["url"]
        yield Network(devnet, urls)
    finally:
        devnet.stop()
