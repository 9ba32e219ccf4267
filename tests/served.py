"""`agentsilex serve` in its own process on a free port, for the protocol tests' real clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(folder: Path, agent: str = "agentsilex.testing.demo:agent", *args: str) -> Iterator[str]:
    """Run `agentsilex serve AGENT` (a fresh SQLite store in `folder`); yield its base URL, no trailing slash."""
    port = free_port()
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    process = subprocess.Popen([sys.executable, "-m", "agentsilex.app.cli", "serve", agent, "--port", str(port),
                                "--store", f"sqlite:///{folder / 'served.db'}", *args], cwd=folder, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"agentsilex serve did not start:\n{process.stdout.read()}")  # type: ignore[union-attr]
        time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
