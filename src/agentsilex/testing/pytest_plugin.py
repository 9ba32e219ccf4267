"""pytest fixtures (registered automatically through the `pytest11` entry point)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from .server import LoopbackServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cassette(path, keys=...): the cassette file the `cassette` fixture uses, "
                                       "and the environment variables that count as an API key for recording")


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    """A started loopback server with an empty script: `loopback_server.add_replies([...])`."""
    with LoopbackServer() as server:
        yield server


class CassetteUse:
    """What the `cassette` fixture did: `mode` is "record" or "replay"; `path` is the cassette file."""

    def __init__(self, mode: str, path: Path, model: Any = None) -> None:
        self.mode, self.path, self.model = mode, path, model


@pytest.fixture
def cassette(request: pytest.FixtureRequest) -> Iterator[CassetteUse]:
    """Replays the test's cassette if it exists; records it if it does not and an API key is set; else skips.

    The cassette is `cassettes/<test module>/<test name>.json` beside the test file, or the path given by
    `@pytest.mark.cassette("path")` (relative to the test file). Every model the test resolves is served
    from it (replay) or recorded into it, LiteLLM, native HTTP and custom models alike. With CI=true a
    missing cassette fails the test instead of skipping it."""
    from .cassette import record, replay

    marker = request.node.get_closest_marker("cassette")
    here = Path(request.node.path).parent
    if marker is not None and marker.args:
        path = here / marker.args[0]
    else:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        path = here / "cassettes" / Path(request.node.path).stem / f"{name}.json"
    keys = marker.kwargs.get("keys") if marker is not None else None
    if path.exists():
        with replay(path) as model:
            yield CassetteUse("replay", path, model)
    elif _has_key(keys):
        with record(path):
            yield CassetteUse("record", path)
    else:
        wanted = ", ".join(keys) if keys else "an *_API_KEY variable"
        reason = f"no cassette at {path} and no API key to record one: set {wanted}, run the test, commit the file"
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(reason)  # in CI a test that never runs must not pass quietly
        pytest.skip(reason)


def _has_key(keys: Any) -> bool:
    if keys:
        return any(os.environ.get(key) for key in ([keys] if isinstance(keys, str) else keys))
    return any(value for name, value in os.environ.items() if name.endswith("_API_KEY"))
