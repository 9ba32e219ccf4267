"""Shared test fixtures. Tests never reach a real provider: scripted models, or the loopback server."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import warnings
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

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
