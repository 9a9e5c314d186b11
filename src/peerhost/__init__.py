"""PeerHost: a decentralized, monetizable serverless network."""

__version__ = "0.1.0"
