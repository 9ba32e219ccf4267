"""Faults at the session boundary, in every store: bad messages (item 5)."""

from __future__ import annotations

import pytest
from session_stores import kind, store_factory  # noqa: F401

from agentsilex import Agent, Runner
from agentsilex.errors import UserError
from agentsilex.testing import ScriptedModel

BAD_MESSAGES = {
    "no role": {"content": "hi"},
    "role None": {"role": None, "content": "hi"},
    "unknown role": {"role": "robot", "content": "hi"},
    "user without content": {"role": "user"},
    "user content a number": {"role": "user", "content": 3},
    "call without id": {"role": "assistant", "content": None,
                        "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]},
    "call without function": {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
    "arguments not a str": {"role": "assistant", "content": None,
                            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {}}}]},
    "tool_calls not a list": {"role": "assistant", "content": None, "tool_calls": "c1"},
    "tool without call id": {"role": "tool", "content": "x"},
    "not a dict": "hello",
}


@pytest.mark.parametrize("bad", list(BAD_MESSAGES))
def test_a_bad_message_is_refused_and_nothing_is_stored(store_factory, bad):
    store = store_factory("s1")
    store.add_new_messages({"role": "user", "content": "first"})
    with pytest.raises(UserError, match="Nothing was added"):
        store.add_new_messages([{"role": "user", "content": "fine"}, BAD_MESSAGES[bad]])
    assert store.get_dialogs() == [{"role": "user", "content": "first"}]
    # ... and the session still works
    agent = Agent(name="a", model=ScriptedModel(["ok"]))
    assert Runner(store).run(agent, "again").final_output == "ok"


def test_valid_shapes_are_accepted(store_factory):
    store = store_factory("s1")
    good = [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                                                  "function": {"name": "f", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "c", "content": "r"}, {"role": "assistant", "content": None}]
    store.add_new_messages(good)
    assert store.get_dialogs() == good
