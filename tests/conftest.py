"""Shared test fixtures. Tests never reach a real provider: scripted models, or the loopback server."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import os
import socket
import sys
import warnings
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# -- the guard: no test reaches a real provider (or anything off this machine) --------------------------------
# Every connection and name lookup for a host that is not loopback is refused and recorded; the test that
# tried fails at teardown even if the code under test swallowed the error (as a model adapter would).
BLOCKED: list[str] = []
_real_connect, _real_connect_ex = socket.socket.connect, socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_local(host: Any) -> bool:
    if host is None or host in ("localhost", b"localhost", ""):
        return True
    try:
        return ipaddress.ip_address(str(host.decode() if isinstance(host, bytes) else host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> OSError:
    BLOCKED.append(what)
    return ConnectionRefusedError(f"tests never reach the network: blocked {what}. Use ScriptedModel, "
                                  "FunctionModel or the loopback server (agentsilex.testing).")


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
        raise _refuse(f"a connection to {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
        raise _refuse(f"a connection to {address!r}")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_local(host):
        BLOCKED.append(f"a name lookup of {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"tests never reach the network: blocked a lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def no_network() -> Any:
    """Fail any test that tried to reach a host off this machine (a real provider, for instance)."""
    start = len(BLOCKED)
    yield BLOCKED
    tried = BLOCKED[start:]
    del BLOCKED[start:]
    if tried:
        pytest.fail("this test tried to reach the network: " + "; ".join(tried), pytrace=False)

MODES = ["sync", "stream", "async", "async_stream"]


def run_in_mode(runner: Any, agent: Any, prompt: str, mode: str) -> tuple[Any, list]:
    """Run once in one of the four modes; return (result, events). Non-stream modes return no events."""
    if mode == "sync":
        return runner.run(agent, prompt), []
    if mode == "stream":
        stream = runner.run_stream(agent, prompt)
        events = list(stream)
        return stream.result, events
    if mode == "async":
        return asyncio.run(runner.run_async(agent, prompt)), []

    async def consume() -> tuple[Any, list]:
        stream = runner.run_stream_async(agent, prompt)
        events = [event async for event in stream]
        return stream.result, events

    return asyncio.run(consume())


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Parametrise a test over the four run modes."""
    return request.param


@pytest.fixture(params=["native", "litellm"])
def openai_env(request: pytest.FixtureRequest, loopback_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point plain model strings such as "gpt-4o" at the loopback server, on each path: the default native
    one, and LiteLLM (AGENTSILEX_MODEL_BACKEND=litellm). Checks afterwards that every request took that path."""
    monkeypatch.setenv("OPENAI_BASE_URL", loopback_server.url)
    monkeypatch.setenv("OPENAI_API_BASE", loopback_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-test")
    if request.param == "litellm":
        monkeypatch.setenv("AGENTSILEX_MODEL_BACKEND", "litellm")
    loopback_server.backend = request.param
    yield loopback_server
    assert [client_of(h) for h in loopback_server.request_headers] == [request.param] * len(loopback_server.requests)


def client_of(headers: dict) -> str:
    """Which path sent a request, from its User-Agent: LiteLLM (through the openai SDK) or the native one."""
    agent = headers.get("user-agent", "")
    return "litellm" if agent.startswith(("OpenAI/", "AsyncOpenAI/", "litellm")) else "native" if "httpx" in agent or \
        "aiohttp" in agent else f"unknown ({agent})"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Connection pools left for the garbage collector at the very end count too: collect now, fail on any."""
    seen: list[str] = []
    previous, sys.unraisablehook = sys.unraisablehook, lambda info: seen.append(repr(info.exc_value))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            gc.collect()
    finally:
        sys.unraisablehook = previous
    unclosed = [text for text in seen if "Unclosed" in text]
    if unclosed:
        print("\nUnclosed connection pools found at the end of the run:\n" + "\n".join(unclosed[:10]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
