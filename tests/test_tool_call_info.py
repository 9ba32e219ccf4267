"""`current_tool_call()` inside a tool: the call's id, name and an idempotency key stable across retries, in all
four modes (the durable runs use the same function: tests/test_durable_temporal.py)."""

from __future__ import annotations

import asyncio

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner, Session, UserError, current_tool_call, tool
from agentsilex.stores import SQLiteSession
from agentsilex.testing import ScriptedModel, call


def _recording_tools(seen: list):
    @tool
    def pay(amount: int) -> str:
        """Pay an amount."""
        info = current_tool_call()
        seen.append(info)
        return f"paid {amount} with key {info.idempotency_key}"

    @tool
    async def refund(amount: int) -> str:
        """Refund an amount."""
        await asyncio.sleep(0)
        seen.append(current_tool_call())
        return f"refunded {amount}"

    return pay, refund


def test_each_call_sees_its_own_id_name_and_key_in_every_mode(mode):
    seen: list = []
    pay, refund = _recording_tools(seen)
    model = ScriptedModel([call("pay", amount=5, call_id="c1"),
                           [call("pay", amount=1, call_id="c2"), call("refund", amount=2, call_id="c3")], "done"])
    session = Session()
    run_in_mode(Runner(session), Agent(name="shop", model=model, tools=[pay, refund]), "go", mode)
    by_id = {info.call_id: info for info in seen}
    assert sorted(by_id) == ["c1", "c2", "c3"]
    assert (by_id["c1"].name, by_id["c3"].name) == ("pay", "refund")
    assert by_id["c1"].step == 1 and by_id["c2"].step == by_id["c3"].step == 3  # messages before the reply
    assert len({info.idempotency_key for info in seen}) == 3
    assert f"key {by_id['c1'].idempotency_key}" in session.dialogs[2]["content"]
    with pytest.raises(UserError, match="inside a tool"):
        current_tool_call()  # the caller's context never keeps a tool's


def test_the_key_is_the_same_when_the_same_call_runs_again(tmp_path, mode):
    """The same reply (same call id) at the same place of the same stored session: the same key, whatever
    process runs it; another session or another place: another key."""
    keys = []
    for session_id in ("alice", "alice", "bob"):
        seen: list = []
        pay, _ = _recording_tools(seen)
        session = SQLiteSession(session_id, str(tmp_path / f"{len(keys)}.db"))
        model = ScriptedModel([call("pay", amount=5, call_id="c1"), "done"])
        run_in_mode(Runner(session), Agent(name="shop", model=model, tools=[pay]), "go", mode)
        keys.append(seen[0].idempotency_key)
    assert keys[0] == keys[1] != keys[2]


def test_an_approved_call_resumed_later_keeps_its_key():
    seen: list = []

    @tool(needs_approval=True)
    def wire(amount: int) -> str:
        """Wire money."""
        seen.append(current_tool_call())
        return "sent"

    session = Session()
    runner = Runner(session)
    agent = Agent(name="bank", model=ScriptedModel([call("wire", amount=9, call_id="w1"), "ok"]), tools=[wire])
    paused = runner.run(agent, "send it")
    assert seen == [] and paused.pending_approvals
    runner.run(agent, paused.state.approve("w1"))
    assert seen[0].call_id == "w1" and seen[0].step == 1


def test_a_call_inside_an_agent_used_as_a_tool_has_a_key_of_its_own(mode):
    seen: list = []
    pay, _ = _recording_tools(seen)
    inner = Agent(name="cashier", model=ScriptedModel([call("pay", amount=3, call_id="c1"), "paid"]), tools=[pay])
    outer = Agent(name="front", model=ScriptedModel([call("cashier", input="pay 3", call_id="c1"), "ok"]),
                  tools=[inner.as_tool()])
    session = Session()
    run_in_mode(Runner(session), outer, "go", mode)
    direct: list = []
    pay2, _ = _recording_tools(direct)
    run_in_mode(Runner(Session()), Agent(name="shop", model=ScriptedModel([call("pay", amount=3, call_id="c1"), "x"]),
                                         tools=[pay2]), "go", mode)
    assert seen[0].call_id == direct[0].call_id == "c1"
    assert seen[0].idempotency_key != direct[0].idempotency_key  # nested under the outer call c1
