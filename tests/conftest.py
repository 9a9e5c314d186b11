"""Shared fixtures: a real anvil chain for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peerhost.chain.anvil import Anvil


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    """One automining anvil for the whole test session."""
    with Anvil() as chain:
        yield chain
