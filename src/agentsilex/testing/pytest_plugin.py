"""pytest fixtures (registered automatically through the `pytest11` entry point)."""

from __future__ import annotations

from typing import Iterator

import pytest

from .server import LoopbackServer


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    """A started loopback server with an empty script: `loopback_server.add_replies([...])`."""
    with LoopbackServer() as server:
        yield server
