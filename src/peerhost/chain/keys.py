"""Signing keys: from an encrypted JSON keystore or an environment variable; never printed."""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from peerhost.chain.errors import SigningKeyError

#: Anvil's well-known development accounts (public test keys: never use them on a real network).
ANVIL_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)

DEFAULT_KEY_ENV = "PEERHOST_PRIVATE_KEY"
DEFAULT_PASSWORD_ENV = "PEERHOST_KEYSTORE_PASSWORD"


def account_from_key(key: str) -> LocalAccount:
    """An account from a hex private key; the error never repeats the key."""
    try:
        return Account.from_key(key.strip())
    except Exception:
        raise SigningKeyError("the private key is not a valid 32-byte hex key") from None


def signing_account(
    *, key_env: str = DEFAULT_KEY_ENV, keystore: Path | None = None, anvil_account: int | None = None,
    chain_id: int | None = None,
) -> LocalAccount:
    """The key a command signs with: anvil's public dev key N (refused on any chain known not to be a
    local anvil), else a keystore, else the environment variable `key_env`."""
    if anvil_account is not None:
        from peerhost.chain.anvil import ANVIL_CHAIN_ID

        if chain_id is not None and chain_id != ANVIL_CHAIN_ID:
            raise SigningKeyError(f"--anvil-account is only for a local anvil (chain {ANVIL_CHAIN_ID}), not chain {chain_id}")
        return account_from_key(ANVIL_KEYS[anvil_account])
    return load_account(key_env=key_env, keystore=keystore)


def load_account(
    *,
    key_env: str = DEFAULT_KEY_ENV,
    keystore: Path | None = None,
    password_env: str = DEFAULT_PASSWORD_ENV,
    password: str | None = None,
) -> LocalAccount:
    """Loads the signing account: from `keystore` when given (password from `password` or
    `password_env`), else from the environment variable `key_env`."""
    if keystore is not None:
        try:
            data = json.loads(Path(keystore).read_text())
        except FileNotFoundError:
            raise SigningKeyError(f"keystore {keystore} does not exist") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise SigningKeyError(f"keystore {keystore} is not a readable JSON keystore: {exc}") from None
        secret = password if password is not None else os.environ.get(password_env)
        if secret is None:
            raise SigningKeyError(f"keystore {keystore} needs a password: set {password_env}")
        try:
            return Account.from_key(Account.decrypt(data, secret))
        except ValueError:
            raise SigningKeyError(f"could not decrypt keystore {keystore}: wrong password?") from None
    value = os.environ.get(key_env)
    if not value:
        raise SigningKeyError(f"no signing key: set {key_env} to a private key, or pass --keystore FILE")
    return account_from_key(value)
