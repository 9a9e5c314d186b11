"""Errors of the chain package."""

from peerhost.errors import PeerHostError


class ChainError(PeerHostError):
    """Something went wrong talking to, or deploying on, an EVM chain."""


class ArtifactError(ChainError):
    """Contract artifacts are missing, unreadable or out of date."""


class CompileError(ChainError):
    """The Solidity compiler failed or is not installed."""


class SigningKeyError(ChainError):
    """No usable signing key was configured."""
