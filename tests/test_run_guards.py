"""Run-level guards: Runner(run_timeout=...) and the identical-tool-call detector."""

from __future__ import annotations

import json
import time

import pytest
from conftest import run_in_mode
from history import assert_valid_history

from agentsilex import Agent, Runner, Session, UserError, tool
from agentsilex.errors import ModelBehaviorError, RepeatedToolCallError, RunTimeoutError
from agentsilex.testing import FunctionModel, LoopbackServer, ScriptedModel, call


@tool
def slow(seconds: float) -> str:
    """Sleep."""
    time.sleep(seconds)
    return "slept"


@tool
def search(query: str) -> str:
    """Search."""
    return "nothing found"


# -- run_timeout ---------------------------------------------------------------------------------------------
def test_run_timeout_stops_a_slow_tool_and_keeps_the_session_valid(mode):
    model = ScriptedModel([call("slow", seconds=3), "never"])
    session = Session()
    agent = Agent(name="a", model=model, tools=[slow])
    start = time.monotonic()
    with pytest.raises(RunTimeoutError, match="run_timeout=0.3") as caught:
        run_in_mode(Runner(session, run_timeout=0.3), agent, "go", mode)
    assert time.monotonic() - start < 2.5  # not the tool's 3 s
    assert caught.value.timeout == 0.3 and caught.value.result.usage.requests == 1
    assert_valid_history(session.dialogs)
    tool_answer = session.dialogs[-1]
    assert tool_answer["role"] == "tool" and "run_timeout" in tool_answer["content"]
    # The session is usable again.
    model.replies[:] = ["fine"]
    assert Runner(session).run(agent, "again").final_output == "fine"


def test_run_timeout_counts_the_whole_run_not_one_call(mode):
    # Each tool call takes 0.15 s (well under the deadline); the run keeps calling: the deadline stops it.
    model = FunctionModel(lambda messages, tools: call("slow", seconds=0.15))
    agent = Agent(name="a", model=model, tools=[slow])
    with pytest.raises(RunTimeoutError):
        run_in_mode(Runner(run_timeout=0.5, max_turns=50), agent, "go", mode)
    assert 2 <= len(model.requests) < 10


def test_run_timeout_reaches_agents_used_as_tools(mode):
    inner = Agent(name="inner", model=ScriptedModel([call("slow", seconds=3), "never"]), tools=[slow])
    outer = Agent(name="outer", model=ScriptedModel([call("inner", input="x"), "never"]), tools=[inner.as_tool()])
    session = Session()
    with pytest.raises(RunTimeoutError):
        run_in_mode(Runner(session, run_timeout=0.3), outer, "go", mode)
    assert_valid_history(session.dialogs)


@pytest.mark.parametrize("path", ["litellm", "native"])
def test_run_timeout_cuts_a_slow_model_over_http(mode, path):
    with LoopbackServer(["warm", "late"]) as server:
        model = server.litellm_model() if path == "litellm" else server.openai_model()
        agent = Agent(name="a", model=model)
        run_in_mode(Runner(), agent, "warm up", mode)  # LiteLLM's first call sets itself up: not timed
        server.latency = 3.0
        session = Session()
        start = time.monotonic()
        with pytest.raises(RunTimeoutError):
            run_in_mode(Runner(session, run_timeout=0.5), agent, "go", mode)
        assert time.monotonic() - start < 2.8
        assert [m["role"] for m in session.dialogs] == ["user"]


def test_run_timeout_is_checked():
    for bad in (0, -1, "5"):
        with pytest.raises(UserError, match="run_timeout"):
            Runner(run_timeout=bad)


# -- repeated identical tool calls ----------------------------------------------------------------------------
def test_repeated_call_raises_a_typed_error(mode):
    ran = []

    @tool
    def probe(x: int) -> str:
        """Probe."""
        ran.append(x)
        return "same"

    # Arguments in another key order are the same call.
    model = ScriptedModel([call("probe", '{"x": 1}'), call("probe", '{ "x":1 }'), call("probe", x=1), "never"])
    session = Session()
    agent = Agent(name="a", model=model, tools=[probe])
    with pytest.raises(RepeatedToolCallError, match="'probe' with the same arguments 3 times") as caught:
        run_in_mode(Runner(session, max_repeated_tool_calls=3), agent, "go", mode)
    assert ran == [1, 1]  # the third never ran
    assert isinstance(caught.value, ModelBehaviorError) and caught.value.times == 3
    assert caught.value.result.usage.requests == 3
    assert_valid_history(session.dialogs)


def test_repeated_call_answered_with_a_note(mode):
    ran = []

    @tool
    def probe(x: int) -> str:
        """Probe."""
        ran.append(x)
        return "same"

    model = ScriptedModel([call("probe", x=1), call("probe", x=1), call("probe", x=2), call("probe", x=2),
                           "I give up"])
    session = Session()
    agent = Agent(name="a", model=model, tools=[probe])
    result, _ = run_in_mode(Runner(session, max_repeated_tool_calls=2, on_repeated_tool_call="note"), agent,
                            "go", mode)
    assert result.final_output == "I give up"
    assert ran == [1, 2]
    notes = [m["content"] for m in session.dialogs if m["role"] == "tool"]
    assert notes[0] == "same" and notes[2] == "same"
    assert "2 times in a row" in notes[1] and "different approach" in notes[3]
    assert_valid_history(session.dialogs)


def test_different_calls_reset_the_count(mode):
    model = ScriptedModel([call("search", query="a"), call("search", query="b"), call("search", query="a"),
                           call("search", query="b"), "done"])
    agent = Agent(name="a", model=model, tools=[search])
    result, _ = run_in_mode(Runner(max_repeated_tool_calls=2), agent, "go", mode)
    assert result.final_output == "done"


def test_repeat_options_are_checked():
    with pytest.raises(UserError, match="at least 2"):
        Runner(max_repeated_tool_calls=1)
    with pytest.raises(UserError, match="on_repeated_tool_call"):
        Runner(max_repeated_tool_calls=3, on_repeated_tool_call="ignore")


def test_repeats_over_the_loopback_server(loopback_server, mode):
    loopback_server.add_replies([call("search", query="x"), call("search", query="x"), "answer"])
    session = Session()
    agent = Agent(name="a", model=loopback_server.litellm_model(), tools=[search])
    result, _ = run_in_mode(Runner(session, max_repeated_tool_calls=2, on_repeated_tool_call="note"), agent,
                            "go", mode)
    assert result.final_output == "answer"
    last = loopback_server.requests[-1]["messages"][-1]
    assert last["role"] == "tool" and "different approach" in last["content"]
    json.dumps(session.dialogs)
