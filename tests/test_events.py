"""Events keep agentsilex 1.0's `.type` names and `.data` keys, so code written for it keeps working."""

from __future__ import annotations

from conftest import run_in_mode

from agentsilex import Agent, Runner, Session, tool
from agentsilex.testing import ScriptedModel, call


@tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


def test_event_types_and_data_keys_of_agentsilex_1():
    billing = Agent(name="billing", model=ScriptedModel(["refunded"]))
    model = ScriptedModel([call("add", a=1, b=2, call_id="call_1"), call("transfer_to_billing")])
    triage = Agent(name="triage", model=model, tools=[add], handoffs=[billing])
    _, events = run_in_mode(Runner(Session()), triage, "go", "stream")
    by_type: dict = {}
    for event in events:
        by_type.setdefault(event.type, event)
    assert set(by_type) >= {"raw_chunk", "partial_output", "tool_call", "tool_response", "agent_handoff",
                            "final_result"}
    assert by_type["raw_chunk"].data["chunk"]["choices"] is not None
    assert "".join(e.data["content"] for e in events if e.type == "partial_output") == "refunded"
    assert by_type["tool_call"].data["func_request"] == {"id": "call_1", "name": "add", "arguments": '{"a": 1, "b": 2}'}
    assert by_type["tool_response"].data["func_response"] == {"role": "tool", "tool_call_id": "call_1", "content": "3"}
    assert by_type["agent_handoff"].data["agent_name"] == "billing" == by_type["agent_handoff"].agent_name
    assert by_type["agent_handoff"].agent == "billing" and by_type["agent_handoff"].data["agent"] == "billing"
    final = by_type["final_result"]
    assert final.data == {"final_output": "refunded", "finish_reason": "stop"} and final.result.last_agent is billing
    assert [e.type for e in events].count("final_result") == 1 and events[-1] is final


def test_printing_an_event_shows_its_type(mode):
    model = ScriptedModel([call("add", a=1, b=2, call_id="c1"), "three"])
    _, events = run_in_mode(Runner(Session()), Agent(name="a", model=model, tools=[add]), "go", mode)
    for event in events:
        assert repr(event).startswith(f"{type(event).__name__}(type={event.type!r}")
        assert str(event) == repr(event)
    if events:
        shown = {e.type: str(e) for e in events}
        assert shown["tool_call"] == ("ToolCallEvent(type='tool_call', call_id='c1', name='add', "
                                      "arguments='{\"a\": 1, \"b\": 2}', agent='a')")
        assert shown["final_result"] == ("FinalResultEvent(type='final_result', final_output='three', "
                                         "finish_reason='stop')")
    else:
        assert mode in ("sync", "async")
