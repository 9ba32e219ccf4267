"""An approval is bound to its conversation and to the tool the human saw (issue 21, point 5): a state signed and
approved on session `a` is refused on session `b` holding a copy of the same history, and an approved call whose
tool changed (name or JSON schema) or is gone is refused; both before anything runs, and the state still resumes
where it belongs afterwards."""

from __future__ import annotations

import json

import pytest
from conftest import run_in_mode
from session_stores import PERSISTENT, kind, store_factory  # noqa: F401

from agentsilex import Agent, Conversation, RunState, Runner, Session, tool
from agentsilex.errors import UserError
from agentsilex.features import approval
from agentsilex.testing import ScriptedModel, call

ran: list[str] = []


@tool(needs_approval=True)
def read_file(path: str) -> str:
    """Read a file."""
    ran.append(f"read {path}")
    return "contents"


@tool(name="read_file", needs_approval=True)
def read_file_changed(path: str, follow_links: bool = True) -> str:
    """Read a file (a later version: one more parameter)."""
    ran.append(f"changed read {path}")
    return "contents"


@tool
def other() -> str:
    """Another tool."""
    return "other"


def _agent(replies, tools=(read_file,)):
    return Agent(name="ops", model=ScriptedModel(replies), tools=list(tools))


def _pause(mode, session):
    ran.clear()
    paused, _ = run_in_mode(Runner(session), _agent([call("read_file", path="notes.txt", call_id="call_1")]),
                            "read my notes", mode)
    return paused.state.to_json()


def test_a_copy_of_an_in_memory_history_is_another_conversation(mode):
    original = Session()
    saved = _pause(mode, original)
    copy = Session(list(original.get_dialogs()))
    with pytest.raises(UserError, match="paused on an in-memory Session, not on this one"):
        run_in_mode(Runner(copy), _agent(["done"]), RunState.from_json(saved).approve_all(), mode)
    assert ran == [] and copy.get_dialogs() == original.get_dialogs()
    result, _ = run_in_mode(Runner(original), _agent(["done"]), RunState.from_json(saved).approve_all(), mode)
    assert result.final_output == "done" and ran == ["read notes.txt"]  # refused elsewhere, still resumes here


@pytest.mark.parametrize("kind", PERSISTENT)
@pytest.mark.parametrize("how", ["another session with the same history", "a fork"])
def test_a_store_session_with_the_same_history_is_another_conversation(store_factory, kind, how, mode):
    original = store_factory("a")
    saved = _pause(mode, original)
    if how == "a fork":
        copy = original.fork("b")
    else:
        copy = store_factory("b")
        copy.add_new_messages(original.get_dialogs())
    with pytest.raises(UserError, match="paused on session 'a', not on this one \\(session 'b'\\)"):
        run_in_mode(Runner(copy), _agent(["done"]), RunState.from_json(saved).approve_all(), mode)
    assert ran == [] and copy.get_dialogs() == original.get_dialogs()
    assert Conversation(copy).paused is None and Conversation(original).paused is not None
    result, _ = run_in_mode(Runner(original), _agent(["done"]), RunState.from_json(saved).approve_all(), mode)
    assert result.final_output == "done" and ran == ["read notes.txt"]


def test_the_binding_cannot_be_edited(mode):
    original, other_session = Session(), Session()
    saved = _pause(mode, original)
    _pause(mode, other_session)  # gives the other session a token of its own
    data = json.loads(saved)
    data["session"] = approval.binding(other_session)
    with pytest.raises(UserError, match="does not match its signature"):
        run_in_mode(Runner(other_session), _agent(["done"]), RunState.from_json(json.dumps(data)).approve_all(), mode)
    assert ran == []


@pytest.mark.parametrize("change", ["schema", "gone"])
def test_an_approved_call_whose_tool_changed_does_not_run(mode, change):
    session = Session()
    saved = _pause(mode, session)
    tools = [read_file_changed] if change == "schema" else [other]
    expected = "changed \\(its name or JSON schema\\)" if change == "schema" else "is gone"
    with pytest.raises(UserError, match=f"Tool 'read_file' {expected} since this run paused.*call_1"):
        run_in_mode(Runner(session), _agent(["done"], tools), RunState.from_json(saved).approve_all(), mode)
    assert ran == [] and [m["role"] for m in session.get_dialogs()] == ["user"]
    result, _ = run_in_mode(Runner(session), _agent(["done"]), RunState.from_json(saved).approve_all(), mode)
    assert result.final_output == "done" and ran == ["read notes.txt"]


def test_a_refused_call_may_find_its_tool_changed(mode):
    session = Session()
    saved = _pause(mode, session)
    state = RunState.from_json(saved).reject("call_1", "no")
    result, _ = run_in_mode(Runner(session), _agent(["ok"], [read_file_changed]), state, mode)
    assert result.final_output == "ok" and ran == []


def test_a_state_saved_before_the_binding_is_refused_clearly(mode):
    session = Session()
    data = json.loads(_pause(mode, session))
    for name in ("session", "tools"):
        del data[name]
    data["version"] = 2
    old = RunState.from_json(json.dumps(data))
    old.seal = approval._mac(approval.resolve_key(None), old._signed_part())  # signed as the older release did
    assert [p.call_id for p in old.pending_approvals] == ["call_1"]  # still readable, to show what waited
    with pytest.raises(UserError, match="older agentsilex \\(format 2\\).*cannot be resumed safely"):
        run_in_mode(Runner(session), _agent(["done"]), old.approve_all(), mode)
    assert ran == []


@pytest.mark.parametrize("kind", ["sqlite"])
def test_a_session_id_of_any_script_is_bound_too(store_factory, kind, mode):
    original = store_factory("café-☕")
    saved = _pause(mode, original)
    with pytest.raises(UserError, match="paused on session 'café-☕', not on this one \\(session 'чай'\\)"):
        run_in_mode(Runner(store_factory("чай")), _agent(["done"]), RunState.from_json(saved).approve_all(), mode)
    result, _ = run_in_mode(Runner(original), _agent(["done"]), RunState.from_json(saved).approve_all(), mode)
    assert result.final_output == "done" and ran == ["read notes.txt"]
