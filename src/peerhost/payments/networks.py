"""Payment networks (CAIP-2) and their USDC: the devnet's TestUSDC, Polygon Amoy, Base Sepolia, any EVM chain."""

from __future__ import annotations

from dataclasses import dataclass

from peerhost.errors import PeerHostError


class PaymentError(PeerHostError):
    """A payment could not be configured, made or checked."""


@dataclass(frozen=True)
class PaymentAsset:
    network: str  # CAIP-2, e.g. "eip155:80002"
    address: str
    name: str  # EIP-712 domain name of the token
    version: str  # EIP-712 domain version
    decimals: int = 6

    @property
    def chain_id(self) -> int:
        return int(self.network.split(":", 1)[1])


#: USDC on the public test networks PeerHost knows. Name and version are the tokens' EIP-712 domain.
KNOWN_USDC: dict[str, PaymentAsset] = {
    "eip155:84532": PaymentAsset("eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", "2"),
    "eip155:80002": PaymentAsset("eip155:80002", "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", "USDC", "2"),
}


def caip2(chain_id: int) -> str:
    return f"eip155:{chain_id}"


def resolve_asset(chain_id: int, address: str | None = None, name: str | None = None,
                  version: str | None = None) -> PaymentAsset:  # fmt: skip
    """The USDC of `chain_id`: a known one, or `address` with its EIP-712 name and version."""
    network = caip2(chain_id)
    if address is None:
        if network not in KNOWN_USDC:
            raise PaymentError(f"no known USDC on {network}: pass the token address (--usdc)")
        return KNOWN_USDC[network]
    if not name or not version:
        raise PaymentError(f"the EIP-712 name and version of {address} are needed")
    return PaymentAsset(network, address, name, version)
