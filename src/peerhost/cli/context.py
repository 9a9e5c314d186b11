"""Defaults for network commands from `.peerhost/devnet.json` (written by `peerhost dev`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from peerhost.errors import PeerHostError


def signer(key_env: str, keystore: Path | None, anvil_account: int | None, rpc_url: str | None = None):
    """The command's signing account; an anvil dev key only when `rpc_url` is a local anvil."""
    from peerhost.chain.keys import signing_account
    from peerhost.chain.tx import connect

    chain_id = connect(rpc_url).eth.chain_id if anvil_account is not None and rpc_url else None
    return signing_account(key_env=key_env, keystore=keystore, anvil_account=anvil_account, chain_id=chain_id)


def devnet_info(state_dir: Path | None = None) -> dict[str, Any] | None:
    path = (state_dir or Path(os.environ.get("PEERHOST_STATE_DIR", ".peerhost"))) / "devnet.json"
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def require(value: Any, name: str, devnet_key: str | None = None) -> Any:
    """`value`, else the running devnet's, else a clear error naming the option."""
    if value is not None:
        return value
    info = devnet_info()
    if info is not None and devnet_key is not None:
        node: Any = info
        for part in devnet_key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return node
    raise PeerHostError(f"{name} is required (no running `peerhost dev` in this folder to take it from)")
