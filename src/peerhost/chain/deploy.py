"""Deploying PeerHost's contracts to an EVM chain and recording where they are."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from peerhost.chain.artifacts import load_artifact
from peerhost.chain.errors import ChainError
from peerhost.chain.tx import send_transaction


@dataclass(frozen=True)
class CoordinatorSettings:
    """Constructor arguments of ExecutionCoordinator (windows in seconds)."""

    reveal_window: int = 60
    takeover_window: int = 10
    min_stake_wei: int = Web3.to_wei(0.1, "ether")
    unbonding_delay: int = 86_400
    commit_window: int = 30
    fee_per_execution_gwei: int = 100_000
    slash_bps: int = 5_000
    primary_share_bps: int = 5_000
    free_quota_per_period: int = 1_000
    quota_period: int = 86_400

    def parameters(self) -> tuple[int, ...]:
        """The `Parameters` struct, in field order."""
        return (
            self.min_stake_wei,
            self.unbonding_delay,
            self.commit_window,
            self.fee_per_execution_gwei,
            self.slash_bps,
            self.primary_share_bps,
            self.free_quota_per_period,
            self.quota_period,
        )

    def validate(self) -> None:
        """Checks what the constructor would reject, with messages that name the option."""
        if self.reveal_window <= 0:
            raise ChainError("reveal window must be positive")
        if self.takeover_window <= 0:
            raise ChainError("takeover window must be positive")
        if self.commit_window <= self.takeover_window:
            raise ChainError("commit window must be longer than the takeover window")
        if self.min_stake_wei <= 0:
            raise ChainError("minimum stake must be positive")
        if not 0 <= self.slash_bps <= 10_000 or not 0 <= self.primary_share_bps <= 10_000:
            raise ChainError("basis points must be between 0 and 10000")
        if self.fee_per_execution_gwei * 9 > 2**32 - 1:
            raise ChainError("fee per execution is too large (at most 477218588 gwei)")
        if self.free_quota_per_period and self.quota_period <= 0:
            raise ChainError("a free quota needs a positive quota period")


@dataclass(frozen=True)
class DeployedContract:
    address: str
    block_number: int
    tx_hash: str


@dataclass(frozen=True)
class Deployment:
    """Where the contracts of one chain are: the content of deployments/<chainId>.json."""

    chain_id: int
    deployer: str
    coordinator: DeployedContract
    usdc: DeployedContract | None
    settings: CoordinatorSettings
    compiler: str
    deployed_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_json(self) -> dict[str, Any]:
        contracts = {"coordinator": asdict(self.coordinator)}
        if self.usdc is not None:
            contracts["usdc"] = asdict(self.usdc)
        return {
            "chain_id": self.chain_id,
            "deployer": self.deployer,
            "deployed_at": self.deployed_at,
            "compiler": self.compiler,
            "contracts": contracts,
            "settings": asdict(self.settings),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        contracts = data["contracts"]
        usdc = contracts.get("usdc")
        return cls(
            chain_id=int(data["chain_id"]),
            deployer=data["deployer"],
            coordinator=DeployedContract(**contracts["coordinator"]),
            usdc=DeployedContract(**usdc) if usdc else None,
            settings=CoordinatorSettings(**data["settings"]),
            compiler=data["compiler"],
            deployed_at=data["deployed_at"],
        )


def _deploy_one(
    w3: Web3, account: LocalAccount, name: str, args: tuple[Any, ...]
) -> DeployedContract:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor(*args).build_transaction({"from": account.address, "nonce": 0, "gas": 0})
    tx = {"data": tx["data"], "value": 0}
    receipt = send_transaction(w3, account, tx, what=f"deploying {name}")
    address = receipt["contractAddress"]
    if not address or not w3.eth.get_code(address):
        raise ChainError(f"deploying {name}: no code at the new address (contract size limit?)")
    return DeployedContract(
        address=Web3.to_checksum_address(address),
        block_number=int(receipt["blockNumber"]),
        tx_hash=receipt["transactionHash"].to_0x_hex(),
    )


def deploy_contracts(
    w3: Web3,
    account: LocalAccount,
    settings: CoordinatorSettings,
    *,
    owner: str | None = None,
    with_usdc: bool = True,
    progress: Callable[[str], None] = lambda _message: None,
) -> Deployment:
    """Deploys ExecutionCoordinator (and TestUSDC unless `with_usdc` is false)."""
    settings.validate()
    owner = Web3.to_checksum_address(owner or account.address)
    usdc = None
    if with_usdc:
        progress("deploying TestUSDC")
        usdc = _deploy_one(w3, account, "TestUSDC", (owner,))
    progress("deploying ExecutionCoordinator")
    coordinator = _deploy_one(
        w3,
        account,
        "ExecutionCoordinator",
        (owner, settings.reveal_window, settings.takeover_window, settings.parameters()),
    )
    return Deployment(
        chain_id=w3.eth.chain_id,
        deployer=account.address,
        coordinator=coordinator,
        usdc=usdc,
        settings=settings,
        compiler=load_artifact("ExecutionCoordinator").compiler,
    )


def write_deployment(deployment: Deployment, directory: Path) -> Path:
    """Writes deployments/<chainId>.json and returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{deployment.chain_id}.json"
    path.write_text(json.dumps(deployment.to_json(), indent=2) + "\n")
    return path


def read_deployment(path: Path) -> Deployment:
    """Reads a deployments/<chainId>.json file."""
    try:
        return Deployment.from_json(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        raise ChainError(f"no deployment file at {path}: run `peerhost chain deploy` first") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ChainError(f"deployment file {path} is malformed: {exc}") from None
