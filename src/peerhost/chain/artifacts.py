"""ABI and bytecode of PeerHost's contracts, shipped as package data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from peerhost.chain.errors import ArtifactError

ARTIFACTS_DIR = Path(__file__).parent / "artifacts"
CONTRACT_NAMES = ("ExecutionCoordinator", "TestUSDC")


@dataclass(frozen=True)
class Artifact:
    """A compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler: str


@cache
def load_artifact(name: str) -> Artifact:
    """Loads the artifact of contract `name` (one of `CONTRACT_NAMES`)."""
    if name not in CONTRACT_NAMES:
        raise ArtifactError(f"unknown contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    path = ARTIFACTS_DIR / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(f"artifact {path} is missing: run `make contracts`") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"artifact {path} is not valid JSON: {exc}") from None
    return Artifact(
        name=name,
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        compiler=data["compiler"],
    )
