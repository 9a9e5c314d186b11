"""Compile PeerHost's contracts with the pinned solc-js and write the Python package's artifacts.

The same compiler and settings as `contracts/foundry.toml` (through `contracts/tools/solc`), so
the artifacts shipped in the package are exactly what `forge test` tested.

    python -m peerhost.chain.compile          # rewrite src/peerhost/chain/artifacts/*.json
    python -m peerhost.chain.compile --check  # exit 1 if the committed artifacts are stale
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from peerhost.chain.artifacts import ARTIFACTS_DIR, CONTRACT_NAMES
from peerhost.chain.errors import CompileError

def compiler_settings(root: Path) -> dict[str, Any]:
    """solc standard-JSON settings read from contracts/foundry.toml, so both builds agree."""
    with open(root / "contracts" / "foundry.toml", "rb") as f:
        profile = tomllib.load(f)["profile"]["default"]
    return {
        "optimizer": {"enabled": bool(profile.get("optimizer", False)), "runs": int(profile.get("optimizer_runs", 200))},
        "evmVersion": profile.get("evm_version", "cancun"),
        "viaIR": bool(profile.get("via_ir", False)),
        "metadata": {
            "bytecodeHash": profile.get("bytecode_hash", "ipfs"),
            "appendCBOR": bool(profile.get("cbor_metadata", True)),
        },
        "remappings": ["@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"],
        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
    }


def repo_root() -> Path:
    """The PeerHost checkout this module lives in (compiling needs the sources, not just the package)."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "contracts" / "foundry.toml").is_file():
        raise CompileError("contract sources not found: compiling needs a PeerHost source checkout")
    return root


def compile_contracts(root: Path | None = None) -> dict[str, dict[str, Any]]:
    """Compiles contracts/src with solc-js; returns artifacts by contract name."""
    root = root or repo_root()
    shim = root / "contracts" / "tools" / "solc"
    node = shutil.which("node")
    if node is None:
        raise CompileError("node is not installed: solc-js needs Node.js (run `make install`)")
    if not (root / "node_modules" / "solc").is_dir():
        raise CompileError("solc-js is not installed: run `make install` (npm ci)")

    src = root / "contracts" / "src"
    sources = {
        f"contracts/src/{path.name}": {"content": path.read_text()} for path in sorted(src.glob("*.sol"))
    }
    standard_input = {"language": "Solidity", "sources": sources, "settings": compiler_settings(root)}
    proc = subprocess.run(
        [node, str(shim), "--base-path", str(root), "--standard-json"],
        input=json.dumps(standard_input),
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )
    if proc.returncode != 0:
        raise CompileError(f"solc-js failed: {proc.stderr.strip()}")
    output = json.loads(proc.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))

    version = subprocess.run([node, str(shim), "--version"], capture_output=True, text=True, check=True)
    compiler = version.stdout.strip().splitlines()[-1].removeprefix("Version: ")

    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts in output["contracts"].items():
        for name, data in contracts.items():
            if name not in CONTRACT_NAMES or not source_name.startswith("contracts/src/"):
                continue
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "compiler": compiler,
                "abi": data["abi"],
                "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
            }
    missing = set(CONTRACT_NAMES) - set(artifacts)
    if missing:
        raise CompileError(f"contracts missing from the compiler output: {', '.join(sorted(missing))}")
    return artifacts


def render(artifact: dict[str, Any]) -> str:
    """The artifact's file content: stable, sorted JSON."""
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def stale_artifacts(fresh: dict[str, dict[str, Any]], directory: Path = ARTIFACTS_DIR) -> list[str]:
    """Names of the artifacts whose committed file differs from `fresh`."""
    stale = []
    for name, artifact in fresh.items():
        path = directory / f"{name}.json"
        if not path.is_file() or path.read_text() != render(artifact):
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the artifacts are up to date")
    args = parser.parse_args(argv)
    try:
        fresh = compile_contracts()
    except CompileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = stale_artifacts(fresh)
        if stale:
            print(f"stale artifacts: {', '.join(stale)} — run `make contracts`", file=sys.stderr)
            return 1
        print("artifacts are up to date")
        return 0
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for name, artifact in fresh.items():
        (ARTIFACTS_DIR / f"{name}.json").write_text(render(artifact))
        print(f"wrote {ARTIFACTS_DIR / (name + '.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
