"""A local PeerHost network for development: `peerhost dev`.

anvil (automine or a block time), the contracts deployed and funded, a gateway with its content
store, N worker processes, and every project of `examples/` deployed. `<state_dir>/devnet.json`
tells other commands where everything is; stopping ends every process it started.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from web3 import Web3

from peerhost.chain.anvil import Anvil, free_port
from peerhost.chain.artifacts import load_artifact
from peerhost.chain.deploy import CoordinatorSettings, Deployment, deploy_contracts
from peerhost.chain.keys import ANVIL_KEYS, account_from_key
from peerhost.chain.tx import send_transaction
from peerhost.deploy import deploy_project
from peerhost.errors import PeerHostError

#: Devnet protocol settings: short windows, so that takeover and expiry happen within seconds.
DEVNET_SETTINGS = CoordinatorSettings(
    reveal_window=20,
    takeover_window=4,
    min_stake_wei=Web3.to_wei(1, "ether"),
    unbonding_delay=60,
    commit_window=6,
    fee_per_execution_gwei=100_000,
    free_quota_per_period=1_000_000,
    quota_period=86_400,
)
USDC_PER_ACCOUNT = 10_000 * 10**6
TREASURY_ETHER = 1000
BUILDER_ACCOUNT, GATEWAY_ACCOUNT, FIRST_WORKER_ACCOUNT, FACILITATOR_ACCOUNT = 1, 9, 2, 8
MAX_WORKERS = 6  # anvil accounts 2..7 (8 is kept for the facilitator)
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@dataclass
class DevnetConfig:
    """What `peerhost dev` starts."""

    workers: int = 3
    port: int = 8080  # the gateway's
    chain_port: int = 8545
    facilitator_port: int | None = None  # default: a free port
    block_time: float = 0
    state_dir: Path = field(default_factory=lambda: Path(".peerhost"))
    examples: Path | None = EXAMPLES
    settings: CoordinatorSettings = DEVNET_SETTINGS
    worker_args: dict[int, list[str]] = field(default_factory=dict)  # extra CLI args per worker index


class Devnet:
    def __init__(self, config: DevnetConfig) -> None:
        if not 1 <= config.workers <= MAX_WORKERS:
            raise PeerHostError(f"--workers must be between 1 and {MAX_WORKERS}")
        self.config = config
        self.state_dir = config.state_dir
        self.logs = self.state_dir / "logs"
        self.anvil = Anvil(port=config.chain_port, block_time=config.block_time, log_path=self.logs / "anvil.log")
        self.deployment: Deployment | None = None
        self.gateway: subprocess.Popen | None = None
        self.facilitator: subprocess.Popen | None = None
        self.facilitator_url = f"http://127.0.0.1:{config.facilitator_port or free_port()}"
        self.workers: dict[int, subprocess.Popen] = {}
        self.functions: list[dict[str, Any]] = []

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.config.port}"

    def start(self, progress=lambda _m: None) -> dict[str, Any]:
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            progress(f"starting anvil on port {self.config.chain_port}")
            self.anvil.start()
            w3 = Web3(Web3.HTTPProvider(self.anvil.rpc_url))
            admin = account_from_key(ANVIL_KEYS[0])
            progress("deploying contracts")
            self.deployment = deploy_contracts(w3, admin, self.config.settings)
            progress("funding the treasury and minting TestUSDC")
            self._fund(w3, admin)
            progress("starting the x402 facilitator")
            self.facilitator = self._spawn("facilitator", ["facilitator", "--rpc", self.anvil.rpc_url,
                                                           "--anvil-account", str(FACILITATOR_ACCOUNT),
                                                           "--port", self.facilitator_url.rsplit(":", 1)[1],
                                                           "--log-level", "warning"])  # fmt: skip
            self._wait_http(f"{self.facilitator_url}/healthz", self.facilitator, "facilitator")
            progress("starting the gateway")
            self.start_gateway()
            for index in range(self.config.workers):
                progress(f"starting worker {index + 1} of {self.config.workers}")
                self.start_worker(index)
            self.wait_workers(self.config.workers)
            if self.config.examples is not None:
                for project in sorted(p for p in self.config.examples.iterdir() if (p / "peerhost.toml").is_file()):
                    progress(f"deploying examples/{project.name}")
                    self.deploy(project)
            info = self.describe()
            (self.state_dir / "devnet.json").write_text(json.dumps(info, indent=2) + "\n")
            return info
        except BaseException:
            self.stop()
            raise

    def gateway_args(self) -> list[str]:
        assert self.deployment is not None and self.deployment.usdc is not None
        return ["gateway", "--rpc", self.anvil.rpc_url, "--ws", self.anvil.ws_url,
                "--coordinator", self.deployment.coordinator.address, "--anvil-account", str(GATEWAY_ACCOUNT),
                "--port", str(self.config.port), "--state-dir", str(self.state_dir / "gateway"),
                "--facilitator", self.facilitator_url, "--usdc", self.deployment.usdc.address, "--log-level", "warning"]  # fmt: skip

    def start_gateway(self) -> None:
        self.gateway = self._spawn("gateway", self.gateway_args())
        self._wait_http(f"{self.gateway_url}/healthz", self.gateway, "gateway")

    def worker_account(self, index: int):
        return account_from_key(ANVIL_KEYS[FIRST_WORKER_ACCOUNT + index])

    def start_worker(self, index: int, extra: list[str] | None = None) -> subprocess.Popen:
        assert self.deployment is not None
        account_index = FIRST_WORKER_ACCOUNT + index
        args = ["worker", "--rpc", self.anvil.rpc_url, "--ws", self.anvil.ws_url,
                "--coordinator", self.deployment.coordinator.address, "--gateway", self.gateway_url,
                "--anvil-account", str(account_index), "--state-dir", str(self.state_dir / f"worker-{index}"),
                "--uid-base", str(200_000 + 1000 * index), *self.config.worker_args.get(index, []), *(extra or [])]  # fmt: skip
        proc = self._spawn(f"worker-{index}", args)
        self.workers[index] = proc
        return proc

    def wait_workers(self, count: int, timeout: float = 60) -> None:
        assert self.deployment is not None
        w3 = Web3(Web3.HTTPProvider(self.anvil.rpc_url))
        coord = w3.eth.contract(address=self.deployment.coordinator.address, abi=load_artifact("ExecutionCoordinator").abi)
        deadline = time.monotonic() + timeout
        while coord.functions.activeWorkerCount().call() < count:
            for index, proc in self.workers.items():
                if proc.poll() is not None:
                    raise PeerHostError(f"worker {index} exited: see {self.logs / f'worker-{index}.log'}")
            if time.monotonic() > deadline:
                raise PeerHostError("workers did not register in time")
            time.sleep(0.1)

    def deploy(self, project: Path | str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
        assert self.deployment is not None
        functions = asyncio.run(deploy_project(Path(project), gateway_url=self.gateway_url, rpc_url=self.anvil.rpc_url,
                                               coordinator=self.deployment.coordinator.address,
                                               account=account_from_key(ANVIL_KEYS[BUILDER_ACCOUNT]), env=env))  # fmt: skip
        owner = account_from_key(ANVIL_KEYS[BUILDER_ACCOUNT]).address
        out = []
        for fn in functions:
            entry = {"owner": owner, "project": fn.url.split("/")[-2], "name": fn.name, "url": fn.url, "cid": fn.cid,
                     "price": fn.price, "version": fn.version}  # fmt: skip
            self.functions = [f for f in self.functions if f["url"] != fn.url] + [entry]
            out.append(entry)
        return out

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEERHOST_")}
        return subprocess.Popen([sys.executable, "-m", "peerhost.cli.main", *args], stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)  # fmt: skip

    def _wait_http(self, url: str, proc: subprocess.Popen, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise PeerHostError(f"the {name} exited: see {self.logs / (name + '.log')}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise PeerHostError(f"the {name} did not start: see {self.logs / (name + '.log')}")
            time.sleep(0.1)

    def _fund(self, w3: Web3, admin) -> None:
        assert self.deployment is not None and self.deployment.usdc is not None
        coord = w3.eth.contract(address=self.deployment.coordinator.address, abi=load_artifact("ExecutionCoordinator").abi)
        send_transaction(w3, admin, {"to": coord.address, "data": coord.functions.fundTreasury()._encode_transaction_data(),
                                     "value": Web3.to_wei(TREASURY_ETHER, "ether")}, what="funding the treasury")  # fmt: skip
        usdc = w3.eth.contract(address=self.deployment.usdc.address, abi=load_artifact("TestUSDC").abi)
        for key in ANVIL_KEYS:
            call = usdc.functions.mint(account_from_key(key).address, USDC_PER_ACCOUNT)
            send_transaction(w3, admin, {"to": usdc.address, "data": call._encode_transaction_data()}, what="minting TestUSDC")

    def describe(self) -> dict[str, Any]:
        assert self.deployment is not None and self.deployment.usdc is not None
        return {
            "chain_id": self.deployment.chain_id,
            "rpc_url": self.anvil.rpc_url,
            "ws_url": self.anvil.ws_url,
            "gateway_url": self.gateway_url,
            "facilitator_url": self.facilitator_url,
            "contracts": {"coordinator": self.deployment.coordinator.address, "usdc": self.deployment.usdc.address},
            "workers": [{"address": self.worker_account(i).address, "pid": p.pid} for i, p in sorted(self.workers.items())],
            "functions": self.functions,
            "processes": {"anvil": self.anvil.pid, "gateway": self.gateway.pid if self.gateway else None,
                          "facilitator": self.facilitator.pid if self.facilitator else None},
        }

    def stop(self) -> None:
        procs = [*self.workers.values(), *([self.gateway] if self.gateway else []),
                 *([self.facilitator] if self.facilitator else [])]  # fmt: skip
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.anvil.stop()
        path = self.state_dir / "devnet.json"
        if path.exists():
            path.unlink()

