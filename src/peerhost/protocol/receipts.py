"""EIP-712 execution receipts: a worker's signed statement of what it computed."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

DOMAIN_NAME, DOMAIN_VERSION = "PeerHost", "1"
TYPES = {
    "ExecutionReceipt": [
        {"name": "requestId", "type": "uint256"},
        {"name": "inputHash", "type": "bytes32"},
        {"name": "codeHash", "type": "bytes32"},
        {"name": "resultHash", "type": "bytes32"},
        {"name": "worker", "type": "address"},
    ]
}


@dataclass(frozen=True)
class Receipt:
    request_id: int
    input_hash: bytes
    code_hash: bytes
    result_hash: bytes
    worker: str

    def _message(self, chain_id: int, coordinator: str):
        domain = {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id, "verifyingContract": coordinator}
        message = {"requestId": self.request_id, "inputHash": self.input_hash, "codeHash": self.code_hash,
                   "resultHash": self.result_hash, "worker": self.worker}  # fmt: skip
        return encode_typed_data(domain, TYPES, message)

    def sign(self, account: LocalAccount, chain_id: int, coordinator: str) -> str:
        return "0x" + account.sign_message(self._message(chain_id, coordinator)).signature.hex()

    def signer(self, signature: str, chain_id: int, coordinator: str) -> str:
        return Account.recover_message(self._message(chain_id, coordinator), signature=signature)
