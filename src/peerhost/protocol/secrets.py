"""Per-deployment secrets, sealed by the builder to each worker's registered public key.

ECIES over secp256k1: an ephemeral key, ECDH with the worker's public key (the one it registered
on-chain), HKDF-SHA256, AES-256-GCM. The gateway stores and serves only ciphertext; a worker opens
its own entry and hands the values to the sandbox as the function's declared environment. The
document is signed by the function's owner, so neither a gateway nor anyone else can swap in other
values.
"""

from __future__ import annotations

import json
import secrets as _random
from dataclasses import dataclass
from typing import Any

import coincurve
from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from web3 import Web3

from peerhost.errors import PeerHostError
from peerhost.protocol.canonical import canonical_json

CONTEXT = b"peerhost-secrets-v1"


class SecretsError(PeerHostError):
    """Secrets cannot be sealed, verified or opened."""


def seal(plaintext: bytes, public_key: bytes) -> dict[str, str]:
    ephemeral = coincurve.PrivateKey()
    epk = ephemeral.public_key.format(compressed=True)
    shared = ephemeral.ecdh(public_key)
    key = HKDF(shared, 32, epk, SHA256, context=CONTEXT)
    nonce = _random.token_bytes(12)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return {"epk": epk.hex(), "nonce": nonce.hex(), "ct": (ciphertext + tag).hex()}


def open_sealed(entry: dict[str, str], private_key: bytes) -> bytes:
    try:
        epk = bytes.fromhex(entry["epk"])
        shared = coincurve.PrivateKey(private_key).ecdh(epk)
        key = HKDF(shared, 32, epk, SHA256, context=CONTEXT)
        blob = bytes.fromhex(entry["ct"])
        cipher = AES.new(key, AES.MODE_GCM, nonce=bytes.fromhex(entry["nonce"]))
        return cipher.decrypt_and_verify(blob[:-16], blob[-16:])
    except (KeyError, ValueError) as exc:
        raise SecretsError(f"cannot open the sealed secrets: {exc}") from None


@dataclass(frozen=True)
class SecretsDoc:
    """The owner-signed, sealed environment of one function."""

    function_id: str  # 0x hex
    names: tuple[str, ...]
    sealed: dict[str, dict[str, str]]  # worker address -> sealed JSON {name: value}
    issued_at: int

    def body(self) -> dict[str, Any]:
        return {"v": 1, "function_id": self.function_id.lower(), "names": list(self.names),
                "sealed": self.sealed, "issued_at": self.issued_at}  # fmt: skip

    def digest(self) -> bytes:
        return Web3.keccak(canonical_json(self.body()))

    def sign(self, owner: LocalAccount) -> str:
        return "0x" + owner.sign_message(encode_defunct(self.digest())).signature.hex().removeprefix("0x")

    def signer(self, signature: str) -> str:
        return Account.recover_message(encode_defunct(self.digest()), signature=signature)

    @classmethod
    def create(cls, function_id: bytes, values: dict[str, str], workers: dict[str, bytes], issued_at: int) -> SecretsDoc:
        plaintext = json.dumps(values, sort_keys=True).encode()
        sealed = {Web3.to_checksum_address(w): seal(plaintext, key) for w, key in sorted(workers.items())}
        return cls("0x" + function_id.hex(), tuple(sorted(values)), sealed, issued_at)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SecretsDoc:
        try:
            return cls(data["function_id"], tuple(data["names"]), dict(data["sealed"]), int(data["issued_at"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SecretsError(f"malformed secrets document: {exc}") from None

    def open_for(self, account: LocalAccount) -> dict[str, str]:
        entry = self.sealed.get(account.address)
        if entry is None:
            raise SecretsError(f"the secrets of {self.function_id} are not sealed to {account.address}: "
                               "re-deploy with --env after workers join")  # fmt: skip
        values = json.loads(open_sealed(entry, bytes(account.key)))
        return {str(k): str(v) for k, v in values.items()}
