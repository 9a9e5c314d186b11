"""Errors of the sandbox package."""

from peerhost.errors import PeerHostError


class SandboxError(PeerHostError):
    """The sandbox could not be created or talked to (not a failure of the function)."""
