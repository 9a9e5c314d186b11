"""Errors of the bundle package."""

from peerhost.errors import PeerHostError


class BundleError(PeerHostError):
    """A project or bundle cannot be built or read."""


class ManifestError(BundleError):
    """peerhost.toml is missing or invalid; the message names the file, key and problem."""


class UnsafeContent(BundleError):
    """Hostile or unsafe input: symlinks out of the project, traversal, devices, bombs, oversize."""
