"""Faults in what a model sends back: duplicate tool-call ids (item 7)."""

from __future__ import annotations

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner, tool
from agentsilex.history import pairs_intact
from agentsilex.session import Session
from agentsilex.testing import LoopbackServer, ScriptedModel, call


@tool
def square(n: int) -> int:
    """Square a number."""
    return n * n


def _check_each_call_answered(result, session, requests):
    answers = sorted(r.content for r in result.function_calls)
    assert answers == ["4", "9"]
    stored = session.get_dialogs()
    assert pairs_intact(stored)
    ids = [c["id"] for c in stored[1]["tool_calls"]]
    assert len(set(ids)) == 2 and ids[0] == "dup"  # the first keeps the model's id
    results = {m["tool_call_id"]: m["content"] for m in stored if m["role"] == "tool"}
    assert results == {ids[0]: "4", ids[1]: "9"}
    sent = requests[-1]  # the provider sees the same, consistent ids
    assert [c["id"] for c in sent[1]["tool_calls"]] == ids
    assert [m["tool_call_id"] for m in sent[2:4]] == [m["tool_call_id"] for m in stored[2:4]]


def test_duplicate_tool_call_ids_each_get_their_own_answer(mode):
    model = ScriptedModel([[call("square", n=2, id="dup"), call("square", n=3, id="dup")], "done"])
    session = Session()
    result, _ = run_in_mode(Runner(session), Agent(name="a", model=model, tools=[square]), "go", mode)
    _check_each_call_answered(result, session, [r.messages for r in model.requests])


@pytest.mark.parametrize("path", ["litellm", "native"])
def test_duplicate_ids_over_http(mode, path):
    with LoopbackServer([[call("square", n=2, id="dup"), call("square", n=3, id="dup")], "done"]) as server:
        model = server.litellm_model() if path == "litellm" else server.openai_model()
        session = Session()
        result, _ = run_in_mode(Runner(session), Agent(name="a", model=model, tools=[square]), "go", mode)
        _check_each_call_answered(result, session, [r["messages"] for r in server.requests])


def test_missing_ids_are_filled_without_clashing():
    from agentsilex.messages import with_unique_call_ids

    message = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "function": {"name": "f", "arguments": "{}"}},
        {"id": "", "function": {"name": "f", "arguments": "{}"}},
        {"id": "call_1", "function": {"name": "f", "arguments": "{}"}}]}
    ids = [c["id"] for c in with_unique_call_ids(message)["tool_calls"]]
    assert ids[0] == "call_1" and len(set(ids)) == 3 and all(ids)
