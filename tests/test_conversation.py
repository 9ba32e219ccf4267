"""A conversation that lasts: who answers next, the paused run and the usage kept with the session, in every
store and every mode; per-conversation budgets checked before the request."""

from __future__ import annotations

import json

import pytest
from conftest import run_in_mode
from session_stores import kind, store_factory  # noqa: F401
from history import assert_valid_history as assert_valid

from agentsilex import (Agent, ApprovalRequestedEvent, Conversation, ConversationLimits, ModelResponse, RunState,
                        Runner, Session, Usage, UsageLimitExceeded, UserError, tool)
from agentsilex.messages import assistant
from agentsilex.testing import ScriptedModel, call

refunds: list[int] = []


@tool(needs_approval=True)
def refund(order_id: int) -> str:
    """Refund an order."""
    refunds.append(order_id)
    return f"refunded {order_id}"


def desk(billing_replies: list, triage_replies: list) -> tuple[Agent, Agent]:
    billing = Agent(name="billing", model=ScriptedModel(billing_replies), tools=[refund])
    triage = Agent(name="triage", model=ScriptedModel(triage_replies), handoffs=[billing])
    return triage, billing


def opener(store_factory, kind):
    """Open session `id` again, as a restarted process would (the in-memory Session: the same object)."""
    memory: dict = {}
    if kind == "memory":
        return lambda session_id: memory.setdefault(session_id, Session())
    return store_factory


def test_a_handoff_persists_and_the_next_run_continues_with_that_agent(store_factory, kind, mode):
    reopen = opener(store_factory, kind)
    triage, billing = desk(["Billing here: what is the order number?", "Noted: order 7."],
                           [call("transfer_to_billing")])
    first, _ = run_in_mode(Runner(reopen("alice")), triage, "I was charged twice", mode)
    assert first.last_agent is billing and Conversation(reopen("alice")).agent_name == "billing"
    # A restart: new session object, same starting agent; billing answers without the app remembering it.
    second, _ = run_in_mode(Runner(reopen("alice")), triage, "Order 7", mode)
    assert second.last_agent is billing and second.final_output == "Noted: order 7."
    assert triage.model.remaining == 0 and billing.model.remaining == 0  # triage was not asked again
    assert Conversation(reopen("bob")).agent_name is None  # other sessions are untouched
    assert_valid(reopen("alice").get_dialogs())


def test_told_otherwise_the_agent_passed_answers():
    triage, billing = desk(["Billing here."], [call("transfer_to_billing"), "Triage again."])
    session = Session()
    Runner(session).run(triage, "charged twice")
    assert Runner(session, continue_agent=False).run(triage, "something else").last_agent is triage
    # An agent from which the stored one cannot be reached answers itself (it is where the search starts).
    loner = Agent(name="loner", model=ScriptedModel(["me"]))
    assert Runner(session).run(loner, "hi").final_output == "me"
    Conversation(session).set_agent(None)
    assert Conversation(session).agent_name is None and Conversation(session).agent_for(triage) is triage
    Conversation(session).set_agent(billing)
    assert Conversation(session).agent_for(triage) is billing


def test_a_handoff_inside_an_agent_used_as_a_tool_does_not_change_who_answers():
    inner_target = Agent(name="deep", model=ScriptedModel(["deep answer"]))
    inner = Agent(name="inner", model=ScriptedModel([call("transfer_to_deep")]), handoffs=[inner_target])
    main = Agent(name="main", model=ScriptedModel([call("inner", input="go"), "done"]), tools=[inner.as_tool()])
    session = Session()
    assert Runner(session).run(main, "go").final_output == "done"
    assert Conversation(session).agent_name is None


def test_a_paused_run_waits_with_the_session_and_resumes_after_a_restart(store_factory, kind, mode):
    refunds.clear()
    reopen = opener(store_factory, kind)
    triage, billing = desk([call("refund", order_id=7)], [call("transfer_to_billing")])
    paused, events = run_in_mode(Runner(reopen("alice")), triage, "refund order 7", mode)
    assert refunds == [] and paused.pending_approvals
    if mode in ("stream", "async_stream"):
        waiting = [e for e in events if isinstance(e, ApprovalRequestedEvent)]
        assert [(e.type, e.name, json.loads(e.arguments), e.agent) for e in waiting] == [
            ("approval_requested", "refund", {"order_id": 7}, "billing")]
        assert events[-1] is waiting[-1]  # the stream ends waiting; no final_result
    # "Restart": load the session, list what waits, decide, run (starting agent: triage, as always).
    conversation = Conversation(reopen("alice"))
    assert [(p.tool_name, p.agent) for p in conversation.pending_approvals] == [("refund", "billing")]
    state = conversation.paused
    state.approve(state.pending_approvals[0].call_id)
    finisher = Agent(name="billing", model=ScriptedModel(["Refunded order 7."]), tools=[refund])
    resumed, events = run_in_mode(Runner(reopen("alice")), triage.clone(handoffs=[finisher]), state, mode)
    assert resumed.final_output == "Refunded order 7." and refunds == [7]
    assert Conversation(reopen("alice")).paused is None and Conversation(reopen("alice")).pending_approvals == []
    assert "tool_call" not in [e.type for e in events]  # announced once, at the pause
    with pytest.raises(UserError, match="already resumed"):
        run_in_mode(Runner(reopen("alice")), triage.clone(handoffs=[finisher]), state, mode)
    assert refunds == [7]
    assert_valid(reopen("alice").get_dialogs())


def test_the_kept_paused_run_is_signed_with_the_approval_key(mode):
    from agentsilex.session import get_state, set_state

    refunds.clear()
    agent = Agent(name="ops", model=ScriptedModel([call("refund", order_id=3), "Refunded."]), tools=[refund])
    session = Session()
    key = "the application's approval key"
    paused, _ = run_in_mode(Runner(session, approval_key=key), agent, "refund 3", mode)
    kept = json.loads(get_state(session, "agentsilex.paused"))
    assert kept["seal"] and kept["nonce"] == paused.state.nonce  # signed before the session kept it
    with pytest.raises(UserError, match="does not match its signature"):
        Conversation(session).paused  # another key (this process's own): refused when read
    with pytest.raises(UserError, match="does not match its signature"):
        Conversation(session, approval_key="somebody else's approval key").paused
    set_state(session, "agentsilex.paused", json.dumps({**kept, "message": {**kept["message"], "content": "x"}}))
    with pytest.raises(UserError, match="does not match its signature"):
        Conversation(session, approval_key=key).paused  # edited in the store
    set_state(session, "agentsilex.paused", json.dumps(kept))
    state = Conversation(session, approval_key=key).paused.approve_all()
    resumed, _ = run_in_mode(Runner(session, approval_key=key), agent, state, mode)
    assert resumed.final_output == "Refunded." and refunds == [3]
    assert Conversation(session, approval_key=key).paused is None


@pytest.mark.parametrize("mode", ["stream", "async_stream"])  # events are streamed only
def test_tool_call_events_are_not_repeated_on_resume(mode):
    agent = Agent(name="ops", model=ScriptedModel([[call("refund", order_id=1), call("refund", order_id=2)], "ok"]),
                  tools=[refund])
    session = Session()
    paused, first = run_in_mode(Runner(session), agent, "go", mode)
    resumed, second = run_in_mode(Runner(session), agent, paused.state.approve_all(), mode)
    announced = [e.call_id for e in first + second if e.type == "tool_call"]
    answered = [e.call_id for e in second if e.type == "tool_response"]
    assert announced == answered == [p.call_id for p in paused.pending_approvals]
    assert [e.type for e in first].count("approval_requested") == 2 and second[-1].type == "final_result"


def test_pending_approvals_on_every_run_state_and_usage_before_and_after_the_pause(mode):
    agent = Agent(name="ops", model=ScriptedModel([call("refund", order_id=3), "done"]), tools=[refund])
    session = Session()
    paused, _ = run_in_mode(Runner(session), agent, "go", mode)
    for state in (paused.state, RunState.from_json(paused.state.to_json()), Conversation(session).paused):
        assert state.pending_approvals == paused.pending_approvals
    resumed, _ = run_in_mode(Runner(session), agent, paused.state.approve_all(), mode)
    before, after, total = resumed.usage_before_pause, resumed.usage, resumed.total_usage
    assert (before.requests, after.requests, total.requests) == (1, 1, 2)
    assert total.total_tokens == before.total_tokens + after.total_tokens
    assert paused.usage_before_pause is None and paused.total_usage is paused.usage


def test_a_new_prompt_drops_the_paused_run_which_can_then_never_run(mode):
    refunds.clear()
    agent = Agent(name="ops", model=ScriptedModel([call("refund", order_id=3), "Something else, then."]),
                  tools=[refund])
    session = Session()
    paused, _ = run_in_mode(Runner(session), agent, "refund 3", mode)
    result, _ = run_in_mode(Runner(session), agent, "never mind", mode)
    assert result.final_output == "Something else, then." and Conversation(session).paused is None
    with pytest.raises(UserError, match="moved on since this run paused"):
        run_in_mode(Runner(session), agent, paused.state.approve_all(), mode)
    assert refunds == []
    assert_valid(session.dialogs)


def test_discarding_a_paused_run():
    agent = Agent(name="ops", model=ScriptedModel([call("refund", order_id=3)]), tools=[refund])
    session = Session()
    Runner(session).run(agent, "refund 3")
    assert Conversation(session).pending_approvals
    Conversation(session).discard_paused()
    assert Conversation(session).paused is None and Conversation(session).pending_approvals == []


def test_usage_accumulates_over_the_conversation(store_factory, kind):
    reopen = opener(store_factory, kind)
    first = ModelResponse(assistant("one"), Usage(1, 100, 10, cached_input_tokens=40))
    agent = Agent(name="a", model=ScriptedModel([first, ModelResponse(assistant("two"), Usage(1, 200, 20))],
                                                name="gpt-4o"))
    Runner(reopen("c"), conversation=True).run(agent, "first")
    Runner(reopen("c"), conversation=True).run(agent, "second")
    usage = Conversation(reopen("c")).usage
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (2, 300, 30)
    assert usage.by_model == {"gpt-4o": [2, 300, 30]} and usage.cached_input_tokens == 40
    assert usage.cost_usd == pytest.approx(300 * 2.5e-6 + 30 * 1e-5)  # LiteLLM's bundled gpt-4o price
    Conversation(reopen("c")).reset()
    assert Conversation(reopen("c")).usage.requests == 0 and reopen("c").get_dialogs()


def chatty(replies: int) -> ScriptedModel:
    return ScriptedModel([f"reply {i} " + "x" * 200 for i in range(replies)])


def test_conversation_budget_stops_before_the_request_that_would_exceed_it(mode):
    model = chatty(10)
    session = Session()
    runner = Runner(session, conversation_limits=ConversationLimits(max_total_tokens=600))
    agent = Agent(name="a", model=model)
    done = 0
    with pytest.raises(UsageLimitExceeded, match="conversation would go past ConversationLimits") as caught:
        for turn in range(10):
            run_in_mode(runner, agent, f"message {turn}", mode)
            done += 1
    spent = Conversation(session).usage.total_tokens
    assert caught.value.limit == "conversation.max_total_tokens" and spent <= 600 < caught.value.used
    assert 1 <= done < 10 and len(model.requests) == done  # the request that would go over was never sent
    assert_valid(session.dialogs)


def test_conversation_request_limit_and_validation():
    session = Session()
    runner = Runner(session, conversation_limits=ConversationLimits(max_requests=2))
    agent = Agent(name="a", model=chatty(5))
    runner.run(agent, "one")
    runner.run(agent, "two")
    with pytest.raises(UsageLimitExceeded, match="max_requests=2") as caught:
        runner.run(agent, "three")
    assert caught.value.limit == "conversation.max_requests" and len(agent.model.requests) == 2
    Conversation(session).reset()  # a new budget period
    assert runner.run(agent, "four").final_output.startswith("reply 2")
    with pytest.raises(UserError, match="non-negative"):
        ConversationLimits(max_requests=-1)
    with pytest.raises(UserError, match="ConversationLimits"):
        Runner(conversation_limits={"max_requests": 1}).run(agent, "x")


def test_conversation_cost_limit():
    agent = Agent(name="a", model=ScriptedModel([ModelResponse(assistant("x"), Usage(1, 1000, 0))] * 3,
                                                 name="gpt-4o"))
    session = Session()
    runner = Runner(session, conversation_limits=ConversationLimits(max_cost_usd=0.004))
    runner.run(agent, "one")
    with pytest.raises(UsageLimitExceeded, match="max_cost_usd") as caught:
        runner.run(agent, "two")  # 0.0025 + 0.0025 > 0.004: over by the real count, after the request
    assert caught.value.limit == "conversation.max_cost_usd"
    with pytest.raises(UsageLimitExceeded, match="not sent"):  # 0.005 already: the next is refused up front
        runner.run(agent, "three")
    assert len(agent.model.requests) == 2


def test_a_plain_run_counts_and_writes_nothing_in_the_session(mode):
    """Conversation usage is kept only when asked for (Runner(conversation=True) or conversation_limits)."""
    session = Session()
    run_in_mode(Runner(session), Agent(name="a", model=ScriptedModel(["hi"])), "hello", mode)
    assert "memory_state" not in vars(session) and Conversation(session).usage.requests == 0


def test_clean_forgets_the_conversation_state_too():
    session = Session()
    Runner(session, conversation=True).run(Agent(name="a", model=ScriptedModel(["hi"])), "hello")
    Conversation(session).set_agent("billing")
    assert Conversation(session).usage.requests == 1
    session.clean()
    assert Conversation(session).usage.requests == 0 and Conversation(session).agent_name is None


def test_usage_is_kept_when_a_run_pauses_fails_or_is_stopped(mode):
    from agentsilex import MaxTurnsExceeded

    session = Session()
    agent = Agent(name="ops", model=ScriptedModel([call("refund", order_id=1)]), tools=[refund])
    run_in_mode(Runner(session, conversation=True), agent, "go", mode)  # pauses after one request
    assert Conversation(session).usage.requests == 1
    Conversation(session).discard_paused()
    looping = Agent(name="loop", model=ScriptedModel([call("refund", order_id=2)] * 3), tools=[refund])
    with pytest.raises(MaxTurnsExceeded):
        run_in_mode(Runner(session, max_turns=2, conversation=True), looping.clone(tools=[tool(lambda: "x", name="refund")]), "go", mode)
    assert Conversation(session).usage.requests == 3
    if mode == "stream":
        ping = tool(lambda: "pong", name="ping")
        stream = Runner(session, conversation=True).run_stream(Agent(name="a", model=ScriptedModel([call("ping"), "never"]),
                                                  tools=[ping]), "go")
        for event in stream:
            if event.type == "tool_response":
                break  # the consumer stops reading after the first request
        stream.close()
        assert Conversation(session).usage.requests == 4
