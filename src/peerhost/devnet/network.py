"""A local PeerHost network for development: anvil with the contracts deployed and funded.

Later stages add the content store, gateway and workers; this module owns their lifecycle
and the `.peerhost/devnet.json` file that tells tools where everything is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from peerhost.chain.anvil import Anvil
from peerhost.chain.artifacts import load_artifact
from peerhost.chain.deploy import CoordinatorSettings, Deployment, deploy_contracts
from peerhost.chain.keys import ANVIL_KEYS, account_from_key
from peerhost.chain.tx import send_transaction

#: Devnet protocol settings: short windows so that expiry and unbonding can be seen in minutes.
DEVNET_SETTINGS = CoordinatorSettings(
    reveal_window=30,
    takeover_window=5,
    min_stake_wei=Web3.to_wei(1, "ether"),
    unbonding_delay=60,
    commit_window=15,
    fee_per_execution_gwei=100_000,
    free_quota_per_period=10_000,
    quota_period=86_400,
)
USDC_PER_ACCOUNT = 10_000 * 10**6
TREASURY_ETHER = 100


@dataclass
class DevnetConfig:
    """What `peerhost dev` starts."""

    port: int = 8545
    block_time: float = 0
    state_dir: Path = field(default_factory=lambda: Path(".peerhost"))


class Devnet:
    """Starts anvil, deploys and funds the contracts, writes `<state_dir>/devnet.json`."""

    def __init__(self, config: DevnetConfig) -> None:
        self.config = config
        self.anvil = Anvil(port=config.port, block_time=config.block_time,
                           log_path=config.state_dir / "anvil.log")  # fmt: skip
        self.deployment: Deployment | None = None

    def start(self, progress=lambda _m: None) -> dict[str, Any]:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        progress(f"starting anvil on port {self.config.port}")
        self.anvil.start()
        try:
            w3 = Web3(Web3.HTTPProvider(self.anvil.rpc_url))
            admin = account_from_key(ANVIL_KEYS[0])
            progress("deploying contracts")
            self.deployment = deploy_contracts(w3, admin, DEVNET_SETTINGS)
            progress("funding the treasury and minting TestUSDC")
            self._fund(w3, admin)
            info = self.describe()
            (self.config.state_dir / "devnet.json").write_text(json.dumps(info, indent=2) + "\n")
            return info
        except BaseException:
            self.stop()
            raise

    def _fund(self, w3: Web3, admin) -> None:
        assert self.deployment is not None and self.deployment.usdc is not None
        coord = w3.eth.contract(address=self.deployment.coordinator.address,
                                abi=load_artifact("ExecutionCoordinator").abi)  # fmt: skip
        call = coord.functions.fundTreasury()
        send_transaction(w3, admin, {"to": coord.address, "data": call._encode_transaction_data(),
                                     "value": Web3.to_wei(TREASURY_ETHER, "ether")}, what="funding the treasury")
        usdc = w3.eth.contract(address=self.deployment.usdc.address, abi=load_artifact("TestUSDC").abi)
        for key in ANVIL_KEYS:
            holder = account_from_key(key).address
            call = usdc.functions.mint(holder, USDC_PER_ACCOUNT)
            send_transaction(w3, admin, {"to": usdc.address, "data": call._encode_transaction_data()},
                             what="minting TestUSDC")

    def describe(self) -> dict[str, Any]:
        assert self.deployment is not None and self.deployment.usdc is not None
        return {
            "chain_id": self.deployment.chain_id,
            "rpc_url": self.anvil.rpc_url,
            "ws_url": self.anvil.ws_url,
            "contracts": {
                "coordinator": self.deployment.coordinator.address,
                "usdc": self.deployment.usdc.address,
            },
            "processes": {"anvil": self.anvil.pid},
            "workers": [],
            "functions": [],
        }

    def stop(self) -> None:
        self.anvil.stop()
        path = self.config.state_dir / "devnet.json"
        if path.exists():
            path.unlink()
