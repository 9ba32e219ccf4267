"""Approvals cannot be subverted (item 4): every decided field is signed, edits and unsigned states are
refused, and an approved call runs at most once whatever copy of the state or session is resumed."""

from __future__ import annotations

import json

import pytest
from conftest import run_in_mode
from session_stores import kind, store_factory  # noqa: F401

from agentsilex import Agent, RunState, Runner, Session, tool
from agentsilex.errors import UserError
from agentsilex.testing import ScriptedModel, call

ran: list[str] = []


@tool(needs_approval=True)
def read_file(path: str) -> str:
    """Read a file."""
    ran.append(f"read {path}")
    return "contents"


@tool
def delete_file(path: str) -> str:
    """Delete a file (no approval needed: the attacker's target)."""
    ran.append(f"delete {path}")
    return "deleted"


def _agent(replies):
    return Agent(name="ops", model=ScriptedModel(replies), tools=[read_file, delete_file])


def _pause(mode, session=None, runner=None):
    ran.clear()
    session = session if session is not None else Session()
    runner = runner or Runner(session)
    paused, _ = run_in_mode(runner, _agent([call("read_file", path="notes.txt", call_id="call_1")]), "read my notes",
                            mode)
    return session, json.loads(paused.state.to_json())


def _edit_function(data):
    data["message"]["tool_calls"][0]["function"]["name"] = "delete_file"
    data["pending"][0]["tool_name"] = "delete_file"


def _edit_arguments(data):
    data["message"]["tool_calls"][0]["function"]["arguments"] = '{"path": "/etc/passwd"}'
    data["pending"][0]["arguments"] = '{"path": "/etc/passwd"}'


def _extra_call(data):
    extra = {"id": "call_9", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "x"}'}}
    data["message"]["tool_calls"].append(extra)
    data["pending"].append({"call_id": "call_9", "tool_name": "read_file", "arguments": '{"path": "x"}', "agent": "ops"})


def _other_agent(data):
    data["agent"] = "admin"


def _negative_spent(data):
    data["spent"]["tool_calls"] = -100


def _unsigned(data):
    data["seal"] = ""


EDITS = {"function renamed": _edit_function, "arguments": _edit_arguments, "extra call": _extra_call,
         "another agent": _other_agent, "negative spent": _negative_spent, "unsigned": _unsigned}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_consistently_edited_state_is_refused_and_nothing_runs(mode, edit):
    session, data = _pause(mode)
    EDITS[edit](data)
    state = RunState.from_json(json.dumps(data)).approve_all()
    with pytest.raises(UserError, match="does not match its signature"):
        run_in_mode(Runner(session), _agent(["done"]), state, mode)
    assert ran == [] and session.get_dialogs() == [{"role": "user", "content": "read my notes"}]


def test_forged_decisions_in_the_json_are_refused(mode):
    session, data = _pause(mode)
    data["decisions"] = {"call_1": {"approved": True}}  # the human never approved this
    with pytest.raises(UserError, match="decisions saved in this RunState are not signed"):
        run_in_mode(Runner(session), _agent(["done"]), RunState.from_json(json.dumps(data)), mode)
    assert ran == []


def test_decisions_saved_with_the_key_resume(mode):
    session, data = _pause(mode)
    state = RunState.from_json(json.dumps(data)).approve("call_1")
    saved = state.to_json(approval_key=None)  # unsigned decisions: this process does not know a key for it...
    with pytest.raises(UserError, match="not signed"):
        run_in_mode(Runner(session), _agent(["done"]), RunState.from_json(saved), mode)
    ran.clear()
    key = "k" * 32
    runner = Runner(session := Session(), approval_key=key)
    _, data = _pause(mode, session, runner)
    saved = RunState.from_json(json.dumps(data)).approve("call_1").to_json(approval_key=key)
    result, _ = run_in_mode(Runner(session, approval_key=key), _agent(["done"]), RunState.from_json(saved), mode)
    assert result.final_output == "done" and ran == ["read notes.txt"]


def test_a_state_signed_with_another_key_is_refused(mode):
    session, data = _pause(mode, runner=Runner(Session(), approval_key="one key of sixteen+"))
    state = RunState.from_json(json.dumps(data)).approve_all()
    with pytest.raises(UserError, match="another approval key"):
        run_in_mode(Runner(session, approval_key="another key of 16+"), _agent(["done"]), state, mode)


def test_a_state_resumed_twice_runs_the_tool_once(mode):
    session, data = _pause(mode)
    first = RunState.from_json(json.dumps(data)).approve_all()
    second = RunState.from_json(json.dumps(data)).approve_all()
    run_in_mode(Runner(session), _agent(["done"]), first, mode)
    with pytest.raises(UserError, match="already resumed"):
        run_in_mode(Runner(session), _agent(["again"]), second, mode)
    assert ran == ["read notes.txt"]


def test_a_copy_of_the_session_taken_before_resuming_cannot_run_it_again(store_factory, kind, mode):
    session = store_factory("original")
    session, data = _pause(mode, session)
    if kind == "memory":
        copy = Session(list(session.get_dialogs()))
    else:
        copy = session.fork("copy")
    run_in_mode(Runner(session), _agent(["done"]), RunState.from_json(json.dumps(data)).approve_all(), mode)
    with pytest.raises(UserError, match="already resumed"):
        run_in_mode(Runner(copy), _agent(["again"]), RunState.from_json(json.dumps(data)).approve_all(), mode)
    assert ran == ["read notes.txt"]


def test_a_copy_in_a_store_is_claimed_store_wide(store_factory, kind):
    if kind == "memory":
        pytest.skip("an in-memory Session has no store; the process-wide ledger covers it")
    store = store_factory("s1")
    assert store.claim_once("nonce:call_1") is True
    assert store.fork("s2").claim_once("nonce:call_1") is False
    assert store_factory("s3").claim_once("nonce:call_1") is False
    assert "\x1fclaims" not in store.list_sessions()


def test_an_approval_key_too_short_is_a_user_error():
    with pytest.raises(UserError, match="at least 16"):
        Runner(approval_key="short")
