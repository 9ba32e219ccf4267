"""build_request(): every step of what is sent, in its order, in all four modes; the typed tool step."""

from __future__ import annotations

import pytest
from conftest import run_in_mode
from history import assert_valid_history
from pydantic import BaseModel

from agentsilex import Agent, Capability, RetryPolicy, RunHooks, Runner, RunState, Session, UserError, handoff, tool
from agentsilex.features.handoffs import without_tool_calls
from agentsilex.features.memory import SUMMARY_PREFIX, Compaction
from agentsilex.messages import INTERRUPTED
from agentsilex.session import SessionStore, StoreCapabilities
from agentsilex.stores import SQLiteSession
from agentsilex.testing import Fail, ScriptedModel, call


class Weather(BaseModel):
    city: str
    celsius: float


@tool
def look(city: str) -> str:
    """Look outside."""
    return f"grey in {city}"


class Stamp(RunHooks):
    def before_model_call(self, context, agent, request):
        request.messages = [*request.messages, {"role": "user", "content": "(hook was here)"}]


def test_every_step_in_order(mode):
    """instructions -> stored history -> repair -> history processors -> output mode -> tools -> hook."""
    order: list[str] = []
    session = Session([{"role": "user", "content": "old"},
                       {"role": "assistant", "content": None, "tool_calls": [
                           {"id": "x", "type": "function", "function": {"name": "look", "arguments": "{}"}}]}])

    def callback(stored):  # the seed's contract: it gets the session and may edit it
        order.append("callback")
        stored.add_new_messages({"role": "user", "content": "added by the callback"}) if len(stored.dialogs) == 3 \
            else None

    def strategy(messages, stored):
        order.append("memory")
        assert stored is session
        return messages

    def processor(messages, context):
        order.append(f"processor:{context['who']}")
        assert messages[2]["content"] == INTERRUPTED  # the repair ran before any processor
        return [m for m in messages if m.get("content") != "old"]

    model = ScriptedModel([call("look", city="Oslo"), call("final_answer", city="Oslo", celsius=3)])
    model.supports_response_format_with_tools = False  # the output mode is "tool"
    agent = Agent(name="w", model=model, instructions=lambda ctx: f"Help {ctx['who']}.", tools=[look],
                  output_type=Weather)
    runner = Runner(session, context={"who": "ann"}, before_llm_call_callbacks=[callback], memory=[strategy],
                    history_processors=[processor], hooks=Stamp(), model_timeout=7, stream_idle_timeout=3)
    result, _ = run_in_mode(runner, agent, "now", mode)
    assert result.final_output == Weather(city="Oslo", celsius=3)
    assert order[:3] == ["callback", "memory", "processor:ann"]
    first = model.requests[0]
    assert [m["role"] for m in first.messages] == ["system", "assistant", "tool", "user", "user", "user"]
    assert first.messages[0]["content"] == "Help ann."
    assert [m["content"] for m in first.messages[3:]] == ["now", "added by the callback", "(hook was here)"]
    assert first.output_mode == "tool" and first.response_format is None
    assert [t["function"]["name"] for t in first.tools] == ["look", "final_answer"]
    assert (first.timeout, first.idle_timeout) == (7, 3)
    assert session.dialogs[0]["content"] == "old"  # processors change what is sent, not what is stored
    model.assert_complete()


def test_output_mode_is_decided_once_and_carried_on_the_request(mode):
    native = ScriptedModel(['{"city": "Rome", "celsius": 20}'])
    run_in_mode(Runner(), Agent(name="n", model=native, output_type=Weather), "go", mode)
    assert native.requests[0].output_mode == "native" and native.requests[0].response_format["type"] == "json_schema"
    prompted = ScriptedModel(["not json", '{"city": "Rome", "celsius": 20}'])
    prompted.supports_response_format = False
    result, _ = run_in_mode(Runner(), Agent(name="p", model=prompted, output_type=Weather), "go", mode)
    assert result.final_output.city == "Rome"
    assert [r.output_mode for r in prompted.requests] == ["prompted", "prompted"]
    retry = prompted.requests[1].messages
    assert retry[-2] == {"role": "assistant", "content": "not json"}  # the retry note, for this request only
    assert "Answer again with only the JSON value" in retry[-1]["content"]
    plain = ScriptedModel(["hi"])
    run_in_mode(Runner(), Agent(name="t", model=plain), "go", mode)
    assert plain.requests[0].output_mode is None


def test_a_handoff_input_filter_is_a_history_processor(mode):
    target = Agent(name="billing", model=ScriptedModel(["refunded"]))
    front = Agent(name="front", model=ScriptedModel([call("look", city="Oslo"), call("transfer_to_billing")]),
                  tools=[look], handoffs=[handoff(target, input_filter=without_tool_calls)])
    session = Session()
    result, _ = run_in_mode(Runner(session), front, "refund", mode)
    assert result.final_output == "refunded"
    assert [m["role"] for m in target.model.requests[0].messages] == ["user"]
    assert len(session.dialogs) == 6  # the stored history keeps every call and result
    assert_valid_history(session.dialogs)


def test_bad_history_processors_are_refused():
    with pytest.raises(UserError, match="history_processors must be functions"):
        Runner(history_processors=["not a function"])
    runner = Runner(history_processors=[lambda messages, context: None])
    with pytest.raises(UserError, match="must return the list of messages"):
        runner.run(Agent(name="a", model=ScriptedModel(["never"])), "hi")


def history(turns: int) -> list[dict]:
    return [m for n in range(turns) for m in ({"role": "user", "content": f"question {n}"},
                                               {"role": "assistant", "content": f"answer {n}"})]


def test_compaction_calls_its_model_through_the_driver(mode):
    """Retried like any model call, with the Runner's timeout, never streamed as the agent's answer."""
    summarizer = ScriptedModel([Fail(503, "busy"), "six questions so far"], name="summarizer")
    agent = Agent(name="a", model=ScriptedModel(["final answer"]))
    runner = Runner(Session(history(6)), memory=[Compaction(summarizer, keep_turns=1, trigger_turns=3)],
                    retry=RetryPolicy(initial_delay=0), model_timeout=9)
    result, events = run_in_mode(runner, agent, "and now?", mode)
    assert result.final_output == "final answer"
    assert len(summarizer.requests) == 2 and summarizer.requests[1].timeout == 9  # retried once, timed
    assert agent.model.requests[0].messages[0]["content"] == SUMMARY_PREFIX + "six questions so far"
    assert not any("six questions" in str(getattr(e, "content", "")) for e in events)
    assert result.usage.requests == 1  # the summary is bookkeeping, not one of the agent's requests
    summarizer.assert_complete()


def test_the_session_contract_is_two_protocols(tmp_path):
    assert isinstance(Session(), SessionStore) and not isinstance(Session(), StoreCapabilities)
    store = SQLiteSession("s", tmp_path / "s.db")
    assert isinstance(store, SessionStore) and isinstance(store, StoreCapabilities)


class MinimalStore:
    """Only the required protocol: the Runner locks it in-process and keeps memory state on the object."""

    def __init__(self) -> None:
        self.dialogs: list[dict] = []

    def get_dialogs(self) -> list[dict]:
        return list(self.dialogs)

    def add_new_messages(self, messages):
        self.dialogs.extend([messages] if isinstance(messages, dict) else messages)

    def pop_turn(self):
        return []

    def clean(self):
        self.dialogs = []


def test_a_store_with_only_the_required_methods_works(mode):
    store = MinimalStore()
    store.add_new_messages(history(4))
    summarizer = ScriptedModel(["four questions"])
    runner = Runner(store, memory=[Compaction(summarizer, keep_turns=1, trigger_turns=3)])
    result, _ = run_in_mode(runner, Agent(name="a", model=ScriptedModel(["ok"])), "more?", mode)
    assert result.final_output == "ok" and store.memory_state["compaction"]["summary"] == "four questions"
    assert isinstance(store, SessionStore)


def test_decide_gives_one_typed_decision_per_call(mode):
    """Each call of a step gets one typed decision, in call order, from the capabilities that claim it (handoffs,
    structured output, approval) or else the engine; a capability's wrap can read them on the step."""
    target = Agent(name="billing", model=ScriptedModel([]))
    careful = tool(lambda path: "gone", name="delete", needs_approval=True)
    calls = [call("look", city="Oslo", call_id="1"), call("nope", call_id="2"), call("delete", path="x", call_id="3"),
             call("transfer_to_billing", call_id="4"), call("transfer_to_billing", call_id="5"),
             call("final_answer", city="Oslo", celsius=1, call_id="6"), call("final_answer", city="Oslo", call_id="7")]
    model = ScriptedModel([calls, calls])
    model.supports_response_format_with_tools = False  # "tool" output mode: final_answer is a tool
    agent = Agent(name="a", model=model, tools=[look, careful], handoffs=[target], output_type=Weather)
    seen: list[list] = []

    class Spy(Capability):
        def wrap(self, loop):
            result = yield from loop
            seen.append(list(loop.run.step.decisions))
            return result

    session = Session()
    paused, _ = run_in_mode(Runner(session, capabilities=[Spy()]), agent, "go", mode)
    assert [type(d).__name__ for d in seen[0]] == ["RunIt", "AlreadyAnswered", "AwaitApproval", "HandOff",
                                                   "AlreadyAnswered", "FinalAnswer", "AlreadyAnswered"]
    assert seen[0][1].error is not None and paused.pending_approvals[0].call_id == "3"
    state = RunState.from_json(paused.state.to_json()).reject("3", "no")
    result, _ = run_in_mode(Runner(session, capabilities=[Spy()]), agent, state, mode)
    assert [type(d).__name__ for d in seen[1]][2] == "AlreadyAnswered"  # refused by a human: answered, never run
    assert result.final_output == Weather(city="Oslo", celsius=1)
    assert_valid_history(session.dialogs)