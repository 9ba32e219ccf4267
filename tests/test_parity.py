"""Every loop behaviour in all four modes (sync, stream, async, async stream), with identical assertions.

Each behaviour runs on the ScriptedModel and on the loopback server through LiteLLM (the real HTTP path).
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from conftest import MODES, run_in_mode

from agentsilex import Agent, MaxTurnsExceeded, Runner, Session, ToolError, tool
from agentsilex.testing import LoopbackServer, ScriptedModel, call

STREAMING = {"stream", "async_stream"}
DELTAS = {"raw_chunk", "partial_output", "tool_call_delta"}


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"boom: {reason}")


SPANS: list[tuple[float, float]] = []  # (start, end) of each slow tool call, to see whether they overlapped


@tool
async def slow_upper(text: str) -> str:
    """Upper-case, slowly (async)."""
    started = time.perf_counter()
    await asyncio.sleep(0.2)
    SPANS.append((started, time.perf_counter()))
    return text.upper()


@tool
def slow_lower(text: str) -> str:
    """Lower-case, slowly (sync, blocking)."""
    started = time.perf_counter()
    time.sleep(0.2)
    SPANS.append((started, time.perf_counter()))
    return text.lower()


@pytest.fixture(params=["scripted", "loopback", "native"])
def backend(request):
    """make(replies) -> model: a ScriptedModel, or LiteLLM / the native OpenAI path aimed at a loopback server."""
    servers: list[LoopbackServer] = []

    def make(replies):
        if request.param == "scripted":
            return ScriptedModel(replies)
        server = LoopbackServer(replies).start()
        servers.append(server)
        if request.param == "native":
            return server.openai_model()
        from agentsilex.models.litellm import load_litellm

        load_litellm()  # LiteLLM's first import (seconds) is not what the timed tests measure
        return server.litellm_model()

    yield make
    for server in servers:
        server.stop()


def semantic(events: list) -> list[tuple]:
    """Events without the streaming-only deltas, as comparable tuples."""
    out = []
    for event in events:
        if event.type in DELTAS:
            continue
        if event.type == "tool_call":
            out.append(("tool_call", event.name, json.loads(event.arguments)))
        elif event.type == "tool_response":
            out.append(("tool_response", event.name, event.content, event.error is not None))
        else:
            out.append((event.type, event.final_output))
    return out


def check_events(mode: str, events: list, expected: list[tuple], final_output: str | None) -> None:
    if mode not in STREAMING:
        assert events == []
        return
    assert semantic(events) == expected
    assert [e.type for e in events].count("final_result") == 1 and events[-1].type == "final_result"
    assert "".join(e.content for e in events if e.type == "partial_output") == (final_output or "")


def roles(session: Session) -> list[str]:
    return [m["role"] for m in session.dialogs]


def test_text_answer(mode, backend):
    session = Session()
    result, events = run_in_mode(Runner(session), Agent(name="a", model=backend(["Hello there, friend!"])),
                                 "hi", mode)
    assert result.final_output == "Hello there, friend!"
    assert session.dialogs == [{"role": "user", "content": "hi"},
                               {"role": "assistant", "content": "Hello there, friend!"}]
    assert result.new_messages == session.dialogs and result.usage.requests == 1
    check_events(mode, events, [("final_result", "Hello there, friend!")], "Hello there, friend!")


def test_tool_call_then_answer(mode, backend):
    session = Session()
    agent = Agent(name="a", model=backend([call("add", a=2, b=3, call_id="c1"), "It is 5."]), tools=[add])
    result, events = run_in_mode(Runner(session), agent, "2+3?", mode)
    assert result.final_output == "It is 5."
    assert roles(session) == ["user", "assistant", "tool", "assistant"]
    assert session.dialogs[2] == {"role": "tool", "tool_call_id": "c1", "content": "5"}
    assert [(c.name, c.result) for c in result.function_calls] == [("add", 5)]
    assert result.usage.requests == 2
    check_events(mode, events, [("tool_call", "add", {"a": 2, "b": 3}), ("tool_response", "add", "5", False),
                                ("final_result", "It is 5.")], "It is 5.")


def test_parallel_calls_run_concurrently_and_answer_in_call_order(mode, backend):
    session = Session()
    replies = [[call("slow_upper", text="Ab", call_id="u"), call("slow_lower", text="Cd", call_id="l"),
                call("add", a=1, b=1, call_id="s")], "done"]
    agent = Agent(name="a", model=backend(replies), tools=[slow_upper, slow_lower, add])
    SPANS.clear()
    result, events = run_in_mode(Runner(session), agent, "go", mode)
    # Concurrent means the two 0.2 s calls overlapped (robust on a loaded machine, unlike a wall-clock bound).
    assert len(SPANS) == 2 and max(s for s, _ in SPANS) < min(e for _, e in SPANS), f"no overlap: {SPANS}"
    assert [(m["tool_call_id"], m["content"]) for m in session.dialogs[2:5]] == [("u", "AB"), ("l", "cd"), ("s", "2")]
    assert roles(session) == ["user", "assistant", "tool", "tool", "tool", "assistant"]
    check_events(mode, events, [("tool_call", "slow_upper", {"text": "Ab"}), ("tool_call", "slow_lower", {"text": "Cd"}),
                                ("tool_call", "add", {"a": 1, "b": 1}), ("tool_response", "slow_upper", "AB", False),
                                ("tool_response", "slow_lower", "cd", False), ("tool_response", "add", "2", False),
                                ("final_result", "done")], "done")


def test_failing_call_does_not_stop_its_siblings(mode, backend):
    session = Session()
    replies = [[call("explode", reason="x", call_id="e"), call("add", a=1, b=2, call_id="s"), call("nope", call_id="n")], "ok"]
    agent = Agent(name="a", model=backend(replies), tools=[explode, add])
    result, events = run_in_mode(Runner(session), agent, "go", mode)
    contents = {m["tool_call_id"]: m["content"] for m in session.dialogs if m["role"] == "tool"}
    assert contents["e"] == "Error: tool 'explode' raised RuntimeError: boom: x"
    assert contents["s"] == "3"
    assert contents["n"].startswith("Error: Unknown tool 'nope'")
    assert [c.error is not None for c in result.function_calls] == [True, False, True]
    assert result.final_output == "ok"
    check_events(mode, events, [("tool_call", "explode", {"reason": "x"}), ("tool_call", "add", {"a": 1, "b": 2}),
                                ("tool_call", "nope", {}), ("tool_response", "explode", contents["e"], True),
                                ("tool_response", "add", "3", False), ("tool_response", "nope", contents["n"], True),
                                ("final_result", "ok")], "ok")


def test_tool_error_raises_when_asked(mode, backend):
    session = Session()
    agent = Agent(name="a", model=backend([call("explode", reason="y"), "unused"]), tools=[explode])
    with pytest.raises(ToolError, match="boom: y"):
        run_in_mode(Runner(session, raise_tool_errors=True), agent, "go", mode)
    assert roles(session) == ["user", "assistant", "tool"]  # the history stays valid


def test_max_turns(mode, backend):
    session = Session()
    agent = Agent(name="a", model=backend([call("add", a=1, b=1), call("add", a=2, b=2), "never"]), tools=[add])
    with pytest.raises(MaxTurnsExceeded) as caught:
        run_in_mode(Runner(session, max_turns=2), agent, "loop", mode)
    assert len(caught.value.result.function_calls) == 2
    assert roles(session) == ["user", "assistant", "tool", "assistant", "tool"]


def test_all_four_modes_write_the_same_transcript():
    transcripts = []
    for mode in MODES:
        session = Session()
        model = ScriptedModel([[call("add", a=1, b=2, call_id="x"), call("add", a=3, b=4, call_id="y")], "3 and 7"])
        result, _ = run_in_mode(Runner(session), Agent(name="a", model=model, tools=[add]), "sums", mode)
        transcripts.append((session.dialogs, result.final_output, [tuple(c) for c in result.function_calls]))
    assert all(t == transcripts[0] for t in transcripts)
