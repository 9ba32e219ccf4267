"""Helpers for the MCP tests: the SDK must be there (skip locally without it, fail in CI), real servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

SERVERS = Path(__file__).parent / "mcp_servers"
# The server that asks the client back is also an example; tests run that very file.
ASKING_SERVER = Path(__file__).parents[1] / "examples" / "mcp_servers" / "asking.py"
TOOLBOX = {"command": sys.executable, "args": [str(SERVERS / "toolbox.py")]}


def require_mcp() -> None:
    try:
        import mcp  # noqa: F401
    except ImportError as exc:
        message = f"the MCP SDK is not installed ({exc}); install the test extra: pip install -e '.[test]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message, allow_module_level=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def http_server(args: list[str], port: int, *, ready_within: float = 60.0) -> Iterator[subprocess.Popen]:
    """Run a server process that listens on 127.0.0.1:port; stop it afterwards."""
    log = tempfile.TemporaryFile()  # not a pipe: uvicorn logs every request, and a full pipe would block it
    process = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server on port {port} did not start within {ready_within} s") from None
                time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie no longer runs
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def wait_until(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
