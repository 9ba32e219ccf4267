from conftest import run_in_mode
from history import assert_valid_history as assert_valid

import pytest

from agentsilex import Agent, HandoffLoopError, Runner, Session, UserError, handoff, tool
from agentsilex.control.handoffs import without_tool_calls
from agentsilex.testing import ScriptedModel, call


@tool
def refund(order: str) -> str:
    """Refund an order."""
    return f"refunded {order}"


def test_one_handoff_runs_the_target_on_the_same_session(mode):
    triage_model = ScriptedModel([call("transfer_to_billing")])
    billing_model = ScriptedModel([call("refund", order="A1"), "Refunded A1."])
    billing = Agent(name="billing", model=billing_model, instructions="You handle billing.", tools=[refund])
    triage = Agent(name="triage", model=triage_model, instructions="Route.", handoffs=[billing])
    session = Session()
    result, events = run_in_mode(Runner(session), triage, "refund A1", mode)
    assert result.final_output == "Refunded A1."
    assert result.last_agent is billing
    assert_valid(session.dialogs)
    assert [m["role"] for m in session.dialogs] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert "billing" in session.dialogs[2]["content"]
    # The target's own instructions and tools, and the whole shared history.
    request = billing_model.requests[0]
    assert request.messages[0] == {"role": "system", "content": "You handle billing."}
    assert [t["function"]["name"] for t in request.tools] == ["refund"]
    assert request.messages[1:] == session.dialogs[:3]
    assert [t["function"]["name"] for t in triage_model.requests[0].tools] == ["transfer_to_billing"]
    if mode in ("stream", "async_stream"):
        handoffs = [e for e in events if e.type == "agent_handoff"]
        assert [(e.from_agent, e.agent_name) for e in handoffs] == [("triage", "billing")]
        assert events[-1].type == "final_result"


def test_several_handoff_calls_first_wins_others_declined(mode):
    a = Agent(name="a", model=ScriptedModel(["from a"]))
    b = Agent(name="b", model=ScriptedModel(["from b"]))
    triage = Agent(name="triage", model=ScriptedModel([[call("transfer_to_b"), call("transfer_to_a"),
                                                         call("transfer_to_b")]]), handoffs=[a, b])
    session = Session()
    result, _ = run_in_mode(Runner(session), triage, "hi", mode)
    assert result.final_output == "from b" and result.last_agent is b
    assert_valid(session.dialogs)
    contents = [m["content"] for m in session.dialogs if m["role"] == "tool"]
    assert contents[0].startswith("Transferred to agent 'b'")
    assert all(text.startswith("Not transferred") for text in contents[1:])
    assert len(result.function_calls) == 3


def test_handoff_loop_stops_with_the_chain_named(mode):
    a = Agent(name="a", model=ScriptedModel([call("transfer_to_b")]))
    b = Agent(name="b", model=ScriptedModel([call("transfer_to_c")]))
    c = Agent(name="c", model=ScriptedModel([call("transfer_to_a")]))
    a.handoffs, b.handoffs, c.handoffs = [b], [c], [a]
    session = Session()
    with pytest.raises(HandoffLoopError, match="a -> b -> c -> a") as caught:
        run_in_mode(Runner(session), a, "go", mode)
    assert caught.value.chain == ["a", "b", "c", "a"]
    assert caught.value.result.last_agent is c
    assert_valid(session.dialogs)  # the looping call was not recorded, the earlier ones are answered


def test_max_handoffs_limit():
    agents = [Agent(name=f"a{i}", model=ScriptedModel([call(f"transfer_to_a{i + 1}")])) for i in range(4)]
    for left, right in zip(agents, agents[1:]):
        left.handoffs = [right]
    with pytest.raises(HandoffLoopError, match="max_handoffs=2"):
        Runner(max_handoffs=2).run(agents[0], "go")


def test_input_filter_and_on_handoff(mode):
    seen = []
    target_model = ScriptedModel(["done"])
    target = Agent(name="target", model=target_model)
    source = Agent(name="source", model=ScriptedModel([call("refund", order="X"), call("go_target")]),
                   tools=[refund],
                   handoffs=[handoff(target, tool_name="go_target", input_filter=without_tool_calls,
                                     on_handoff=lambda ctx: seen.append(dict(ctx)))])
    session = Session([{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "ok"}])
    result, _ = run_in_mode(Runner(session, context={"user": "ann"}), source, "refund X", mode)
    assert result.final_output == "done"
    assert seen == [{"user": "ann"}]
    sent = target_model.requests[0].messages
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]  # no tool calls, no tool results
    assert len(session.dialogs) == 8  # the session itself keeps everything
    assert_valid(session.dialogs)


def test_agent_fields_are_checked_at_construction():
    Model = ScriptedModel
    billing = Agent(name="billing", model=Model([]))
    bad = [({"handoffs": ["billing"]}, "pass the Agent object"), ({"handoffs": [42]}, "handoffs must be Agents"),
           ({"handoffs": [billing, billing.clone()]}, "two handoffs named 'transfer_to_billing'"),
           ({"tools": lambda: 1}, "tools must be a list"), ({"handoffs": billing}, "handoffs must be a list"),
           ({"instructions": 42}, "instructions must be a str"), ({"input_guardrails": [1]}, "guardrails must be"),
           ({"fallback_models": "gpt-4o"}, "fallback_models must be a list")]
    for fields, message in bad:
        with pytest.raises(UserError, match=message):
            Agent(name="triage", model=Model([]), **fields)
    assert Agent(name="t", model=Model([]), tools=(), handoffs=(billing,)).handoffs == [billing]


def test_a_handoff_tool_describes_the_agent_it_hands_to():
    billing = Agent(name="billing", model="x", description="Refunds, invoices and payment questions.")
    plain = Agent(name="plain", model="x")
    triage = Agent(name="triage", model="x", handoffs=[billing, plain, handoff(billing, tool_name="ask_billing", tool_description="Mine.")])
    from agentsilex.features.handoffs import handoffs_of

    described = [h.spec()["function"]["description"] for h in handoffs_of(triage)]
    assert described == ["Hand the conversation over to the agent 'billing'. Refunds, invoices and payment questions.",
                         "Hand the conversation over to the agent 'plain'.", "Mine."]
