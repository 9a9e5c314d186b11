"""The artifacts shipped in the package are exactly what the sources compile to."""

from __future__ import annotations

import json

import pytest

from peerhost.chain.artifacts import ARTIFACTS_DIR, CONTRACT_NAMES, load_artifact
from peerhost.chain.compile import compile_contracts, render, stale_artifacts
from peerhost.chain.errors import ArtifactError

EIP170_LIMIT = 24_576


def test_artifacts_load_with_abi_and_bytecode() -> None:
    for name in CONTRACT_NAMES:
        artifact = load_artifact(name)
        assert artifact.bytecode.startswith("0x") and len(artifact.bytecode) > 1000
        assert any(item.get("type") == "constructor" for item in artifact.abi)
    names = {item.get("name") for item in load_artifact("ExecutionCoordinator").abi}
    assert {"requestExecution", "requestExecutionBatch", "submit", "commit", "reveal", "finalize"} <= names


def test_unknown_artifact_is_a_clear_error() -> None:
    with pytest.raises(ArtifactError, match="unknown contract 'Nope'"):
        load_artifact("Nope")


def test_committed_artifacts_match_a_fresh_compile() -> None:
    fresh = compile_contracts()
    assert stale_artifacts(fresh) == [], "artifacts are stale: run `make contracts`"


def test_staleness_is_detected(tmp_path) -> None:
    fresh = compile_contracts()
    for name, artifact in fresh.items():
        (tmp_path / f"{name}.json").write_text(render(artifact))
    assert stale_artifacts(fresh, tmp_path) == []
    tampered = json.loads((tmp_path / "TestUSDC.json").read_text())
    tampered["bytecode"] = tampered["bytecode"][:-2] + "00"
    (tmp_path / "TestUSDC.json").write_text(render(tampered))
    assert stale_artifacts(fresh, tmp_path) == ["TestUSDC"]


def test_runtime_code_fits_the_eip170_limit() -> None:
    for name in CONTRACT_NAMES:
        size = (len(load_artifact(name).deployed_bytecode) - 2) // 2
        assert size <= EIP170_LIMIT, f"{name} runtime code is {size} bytes"


def test_artifacts_dir_holds_only_known_contracts() -> None:
    assert sorted(p.stem for p in ARTIFACTS_DIR.glob("*.json")) == sorted(CONTRACT_NAMES)


def test_rendezvous_ranks_a_worker_among_checksummed_addresses() -> None:
    from peerhost.worker.selection import rank_of, ranking

    workers = ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
               "0x90F79bf6EB2c4f870365E785982E1f101E93b906"]  # fmt: skip
    order = ranking(7, workers)
    assert sorted(order) == sorted(workers)
    assert [rank_of(7, workers, w) for w in order] == [0, 1, 2]
    assert ranking(7, workers) == ranking(7, list(reversed(workers))), "independent of the input order"
