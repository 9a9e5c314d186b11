"""Errors of the content store."""

from peerhost.errors import PeerHostError


class StorageError(PeerHostError):
    """A content-store operation failed."""


class InvalidCID(StorageError):
    """A string or byte sequence is not a CID PeerHost understands."""


class NotFound(StorageError):
    """The store does not hold the requested block."""

    def __init__(self, cid: object) -> None:
        super().__init__(f"block {cid} not found")
        self.cid = cid


class IntegrityError(StorageError):
    """Data read for a CID does not hash to that CID: never returned to the caller."""


class TooLarge(StorageError):
    """Content exceeds a configured size limit."""
