"""The root of PeerHost's error hierarchy: every package derives its errors from `PeerHostError`."""


class PeerHostError(Exception):
    """An error with a message a user can act on."""
