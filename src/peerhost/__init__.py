"""PeerHost: a decentralized, monetizable serverless network."""

__version__ = "0.1.0"

from peerhost.sandbox.runtime_api import Context, Request, Response  # noqa: E402  (the function API)

__all__ = ["Context", "Request", "Response", "__version__"]
