"""Shared test fixtures. Tests never reach a real provider: scripted models, or the loopback server."""

from __future__ import annotations

import asyncio
import os
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


@pytest.fixture
def openai_env(loopback_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point plain model strings such as "gpt-4o" at the loopback server (through LiteLLM)."""
    monkeypatch.setenv("OPENAI_BASE_URL", loopback_server.url)
    monkeypatch.setenv("OPENAI_API_BASE", loopback_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-test")
    return loopback_server
