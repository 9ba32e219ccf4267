"""Agents used as tools, several in one step: they run side by side (tasks or threads), in every mode.

Concurrency is proven without timing: the sub-agents meet at a threading.Barrier that only opens when both
wait at once (run one after the other, the first would time out). One timing check, with wide margins.
"""

from __future__ import annotations

import threading
import time

import pytest
from conftest import run_in_mode
from history import assert_valid_history

from agentsilex import Agent, Runner, Session, tool
from agentsilex._parallel import Batch, interleave
from agentsilex.events import ToolCallEvent, ToolResponseEvent
from agentsilex.testing import Fail, LoopbackServer, ScriptedModel, call


def meeting_tool(barrier: threading.Barrier):
    @tool
    def meet(who: str) -> str:
        """Wait until the other agent is here too."""
        barrier.wait(timeout=10)
        return f"{who} met"

    return meet


def sub_agent(name: str, meet) -> Agent:
    return Agent(name=name, model=ScriptedModel([call("meet", who=name), f"{name} is done"]), tools=[meet])


def outer(*subs: Agent, extra_calls: list | None = None, tools: list | None = None) -> Agent:
    calls = [call(s.name, input=f"task for {s.name}") for s in subs] + list(extra_calls or [])
    return Agent(name="boss", model=ScriptedModel([calls, "all done"]),
                 tools=[s.as_tool() for s in subs] + list(tools or []))


def test_two_sub_agents_run_at_the_same_time(mode):
    meet = meeting_tool(threading.Barrier(2))
    alpha, beta = sub_agent("alpha", meet), sub_agent("beta", meet)
    session = Session()
    result, events = run_in_mode(Runner(session), outer(alpha, beta), "go", mode)
    assert result.final_output == "all done"
    answers = [m["content"] for m in session.dialogs if m["role"] == "tool"]
    assert answers == ["alpha is done", "beta is done"]  # in call order, whatever finished first
    assert result.usage.requests == 2 + 2 + 2 and len(result.usage.per_request) == 6
    assert sorted({r.agent for r in result.usage.per_request}) == ["alpha", "beta", "boss"]
    assert_valid_history(session.dialogs)
    if events:  # each event names the agent it belongs to
        meets = [(e.agent, e.name) for e in events if isinstance(e, ToolCallEvent) and e.name == "meet"]
        assert sorted(meets) == [("alpha", "meet"), ("beta", "meet")]
        said = {e.agent: e.content for e in events if isinstance(e, ToolResponseEvent) and e.name == "meet"}
        assert said == {"alpha": "alpha met", "beta": "beta met"}


def test_sub_agents_run_alongside_plain_tools(mode):
    barrier = threading.Barrier(3)
    meet = meeting_tool(barrier)

    @tool
    def wait_here() -> str:
        """A plain tool that must meet the two sub-agents."""
        barrier.wait(timeout=10)
        return "plain met"

    alpha, beta = sub_agent("alpha", meet), sub_agent("beta", meet)
    boss = outer(alpha, beta, extra_calls=[call("wait_here")], tools=[wait_here])
    session = Session()
    result, _ = run_in_mode(Runner(session), boss, "go", mode)
    assert [m["content"] for m in session.dialogs if m["role"] == "tool"] == [
        "alpha is done", "beta is done", "plain met"]


def test_one_failing_sub_agent_does_not_cancel_the_other(mode):
    @tool
    def slow_work() -> str:
        """Work a little."""
        time.sleep(0.2)
        return "worked"

    broken = Agent(name="broken", model=ScriptedModel([Fail(400, "bad request")]))
    steady = Agent(name="steady", model=ScriptedModel([call("slow_work"), "steady is done"]), tools=[slow_work])
    session = Session()
    result, _ = run_in_mode(Runner(session), outer(broken, steady), "go", mode)
    broken_answer, steady_answer = [m["content"] for m in session.dialogs if m["role"] == "tool"]
    assert broken_answer.startswith("Error: tool 'broken' raised") and "bad request" in broken_answer
    assert steady_answer == "steady is done"
    assert result.final_output == "all done"
    assert_valid_history(session.dialogs)


def test_two_slow_sub_agents_take_the_time_of_one(mode):
    @tool
    def slow(who: str) -> str:
        """Take one second."""
        time.sleep(1.0)
        return who

    subs = [Agent(name=n, model=ScriptedModel([call("slow", who=n), n]), tools=[slow]) for n in ("a", "b", "c")]
    start = time.monotonic()
    result, _ = run_in_mode(Runner(), outer(*subs), "go", mode)
    elapsed = time.monotonic() - start
    assert result.final_output == "all done"
    assert elapsed < 2.5, f"three 1 s sub-agents took {elapsed:.2f} s (one after the other: 3 s)"


def test_a_run_stopper_in_one_sub_agent_stops_the_step_and_keeps_the_session_valid(mode):
    from agentsilex import InputGuardrailTripped

    def refuse(context, agent, prompt):
        return True  # tripwire

    meet_free = meeting_tool(threading.Barrier(1))
    guarded = Agent(name="guarded", model=ScriptedModel([]), input_guardrails=[refuse])
    fine = sub_agent("fine", meet_free)
    boss = outer(guarded, fine)
    session = Session()
    with pytest.raises(InputGuardrailTripped):
        run_in_mode(Runner(session), boss, "go", mode)
    assert_valid_history(session.dialogs)


# -- over the loopback server -------------------------------------------------------------------------------
def test_parallel_sub_agents_over_http(mode):
    barrier = threading.Barrier(2)

    def reply(messages, tools):
        system = messages[0]["content"]
        if system == "boss":
            if messages[-1]["role"] == "tool":
                return "both answered"
            return [call("alpha", input="x"), call("beta", input="y")]
        barrier.wait(timeout=10)  # both sub-agents' requests are in flight at once, or this times out
        return f"{system} says hi"

    with LoopbackServer(function=reply) as server:
        model = server.litellm_model()
        subs = [Agent(name=n, instructions=n, model=model) for n in ("alpha", "beta")]
        boss = Agent(name="boss", instructions="boss", model=model, tools=[s.as_tool() for s in subs])
        session = Session()
        result, events = run_in_mode(Runner(session), boss, "go", mode)
    assert result.final_output == "both answered"
    assert [m["content"] for m in session.dialogs if m["role"] == "tool"] == ["alpha says hi", "beta says hi"]
    assert result.usage.requests == 4
    if mode in ("stream", "async_stream"):  # streamed text of each sub-agent is attributed to it
        text = {}
        for event in events:
            if event.type == "partial_output":
                text[event.agent] = text.get(event.agent, "") + event.content
        assert text["alpha"] == "alpha says hi" and text["beta"] == "beta says hi"


# -- the interleaver alone, with send() ---------------------------------------------------------------------
def test_interleave_batches_waiting_requests_and_passes_events_through():
    class Event_:
        pass

    def job(name):
        yield Event_()
        first = yield f"{name}-1"
        second = yield f"{name}-2:{first}"
        return f"{name}:{second}"

    driver = interleave([job("a"), job("b")], passthrough=(Event_,))
    assert isinstance(next(driver), Event_)
    assert isinstance(driver.send(None), Event_)
    batch = driver.send(None)
    assert isinstance(batch, Batch) and batch.requests == ["a-1", "b-1"]

    class Out:
        def __init__(self, value=None, error=None):
            self.value, self.error = value, error

    batch = driver.send([Out("A"), Out("B")])
    assert batch.requests == ["a-2:A", "b-2:B"]
    with pytest.raises(StopIteration) as done:
        driver.send([Out("x"), Out("y")])
    assert done.value.value == ["a:x", "b:y"]


def test_sub_agents_inside_parallel_sub_agents(mode):
    # Two teams run side by side; each team runs two members side by side: four meet at one barrier.
    meet = meeting_tool(threading.Barrier(4))
    teams = []
    for team in ("red", "blue"):
        members = [sub_agent(f"{team}_{n}", meet) for n in (1, 2)]
        teams.append(Agent(name=team, tools=[m.as_tool() for m in members],
                           model=ScriptedModel([[call(m.name, input="go") for m in members], f"{team} done"])))
    session = Session()
    result, _ = run_in_mode(Runner(session), outer(*teams), "go", mode)
    assert [m["content"] for m in session.dialogs if m["role"] == "tool"] == ["red done", "blue done"]
    assert result.usage.requests == 2 + 2 * 2 + 4 * 2
