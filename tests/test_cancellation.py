"""Cancellation and early exits: no background work left behind, a valid session, signals propagate."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from agentsilex import Agent, Runner, Session, tool
from agentsilex.messages import INTERRUPTED
from agentsilex.testing import ScriptedModel, call
from history import assert_valid_history as assert_valid


def test_cancelling_the_task_mid_tool_interrupts_every_call():
    started, finished, cancelled = asyncio.Event(), [], []

    @tool
    async def wait_forever(name: str) -> str:
        """Waits until cancelled."""
        try:
            started.set()
            await asyncio.sleep(30)
            finished.append(name)
            return "done"
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    async def main() -> Session:
        session = Session()
        model = ScriptedModel([[call("wait_forever", name="a", call_id="a"), call("wait_forever", name="b", call_id="b")]])
        task = asyncio.create_task(Runner(session).run_async(Agent(name="x", model=model, tools=[wait_forever]), "go"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == {asyncio.current_task()}  # no background work left
        return session

    session = asyncio.run(main())
    assert sorted(cancelled) == ["a", "b"] and finished == []
    assert [m.get("content") for m in session.dialogs[2:]] == [INTERRUPTED, INTERRUPTED]
    assert_valid(session.dialogs)


def test_keyboard_interrupt_in_a_tool_propagates_with_a_valid_session():
    @tool
    def interrupt() -> str:
        """Simulates Ctrl-C while a tool runs."""
        raise KeyboardInterrupt

    @tool
    def fine() -> str:
        """Works."""
        return "fine"

    for calls in ([call("interrupt", call_id="i")], [call("fine", call_id="f"), call("interrupt", call_id="i")]):
        session = Session()
        agent = Agent(name="x", model=ScriptedModel([calls]), tools=[interrupt, fine])
        with pytest.raises(KeyboardInterrupt):
            Runner(session).run(agent, "go")
        assert [m["role"] for m in session.dialogs] == ["user", "assistant"] + ["tool"] * len(calls)
        assert all(m["content"] == INTERRUPTED for m in session.dialogs[2:])
        assert_valid(session.dialogs)


def test_breaking_out_of_a_sync_stream_mid_answer_leaves_a_usable_session(loopback_server):
    loopback_server.add_replies(["a rather long answer, streamed in many small pieces " * 4, "second answer"])
    session = Session()
    agent = Agent(name="x", model=loopback_server.litellm_model())
    runner = Runner(session)
    with runner.run_stream(agent, "first") as stream:
        for event in stream:
            if event.type == "partial_output":
                break
    assert session.dialogs == [{"role": "user", "content": "first"}]  # nothing half-written
    assert runner.run(agent, "again").final_output == "second answer"
    assert [m["role"] for m in session.dialogs] == ["user", "user", "assistant"]


def test_breaking_out_of_an_async_stream_closes_the_model_stream():
    closed = []

    class Endless(ScriptedModel):
        async def stream_async(self, request):
            try:
                while True:
                    yield {"choices": [{"index": 0, "delta": {"content": "la "}, "finish_reason": None}]}
                    await asyncio.sleep(0)
            finally:
                closed.append(True)

    async def main() -> Session:
        session = Session()
        async with Runner(session).run_stream_async(Agent(name="x", model=Endless([])), "sing") as stream:
            async for event in stream:
                if event.type == "partial_output":
                    break
        assert closed == [True]
        assert asyncio.all_tasks() == {asyncio.current_task()}
        return session

    assert asyncio.run(main()).dialogs == [{"role": "user", "content": "sing"}]


def test_breaking_out_of_an_async_stream_at_a_tool_call():
    async def main() -> Session:
        session = Session()
        agent = Agent(name="x", model=ScriptedModel([call("fine", call_id="f"), "unused"]), tools=[tool(lambda: "ok", name="fine")])
        stream = Runner(session).run_stream_async(agent, "go")
        async for event in stream:
            if event.type == "tool_call":
                break
        await stream.aclose()
        return session

    session = asyncio.run(main())
    assert session.dialogs == [{"role": "user", "content": "go"}]


def test_cancelling_a_streaming_task_through_litellm(loopback_server):
    loopback_server.add_replies(["x" * 400])
    loopback_server.latency = 0.0

    async def main() -> Session:
        session = Session()
        first = asyncio.Event()

        async def consume() -> None:
            async for event in Runner(session).run_stream_async(Agent(name="x", model=loopback_server.litellm_model()), "hi"):
                if event.type == "partial_output":
                    first.set()
                    await asyncio.sleep(30)

        task = asyncio.create_task(consume())
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return session

    assert asyncio.run(main()).dialogs == [{"role": "user", "content": "hi"}]


def test_sync_api_inside_a_running_event_loop(loopback_server):
    """Jupyter and FastAPI handlers call the sync API with a loop running in the thread."""
    @tool
    async def shout(text: str) -> str:
        """Async tool."""
        await asyncio.sleep(0.01)
        return text.upper()

    loopback_server.add_replies([call("shout", text="hey"), "HEY it is", [call("shout", text="a"), call("shout", text="b")],
                                 "A and B", "streamed"])
    agent = Agent(name="x", model=loopback_server.litellm_model(), tools=[shout])

    async def main() -> list:
        runner = Runner(Session())
        first = runner.run(agent, "one").final_output
        second = runner.run(agent, "two").final_output
        stream = runner.run_stream(agent, "three")
        events = list(stream)
        return [first, second, stream.result.final_output, threading.current_thread() is threading.main_thread(),
                events[-1].type]

    assert asyncio.run(main()) == ["HEY it is", "A and B", "streamed", True, "final_result"]


def test_tool_timeout_becomes_an_error_result(mode):
    from conftest import run_in_mode

    @tool
    async def slow_async() -> str:
        """Too slow."""
        await asyncio.sleep(5)
        return "late"

    @tool
    def slow_sync() -> str:
        """Too slow, blocking."""
        time.sleep(0.5)
        return "late"

    session = Session()
    model = ScriptedModel([[call("slow_async", call_id="a"), call("slow_sync", call_id="s")], "gave up"])
    started = time.perf_counter()
    result, _ = run_in_mode(Runner(session, tool_timeout=0.1), Agent(name="x", model=model,
                                                                   tools=[slow_async, slow_sync]), "go", mode)
    assert time.perf_counter() - started < 0.45
    assert result.final_output == "gave up"
    for message in session.dialogs[2:4]:
        assert message["content"].startswith("Error: tool 'slow_") and "tool_timeout=0.1 s" in message["content"]
    assert_valid(session.dialogs)


def test_concurrency_limit(mode):
    from conftest import run_in_mode

    running, peak, lock = [0], [0], threading.Lock()

    @tool
    def work(n: int) -> int:
        """Counts how many run at once."""
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return n

    model = ScriptedModel([[call("work", n=i) for i in range(6)], "ok"])
    session = Session()
    run_in_mode(Runner(session, max_parallel_tools=2), Agent(name="x", model=model, tools=[work]), "go", mode)
    assert peak[0] == 2
    assert [m["content"] for m in session.dialogs[2:8]] == [str(i) for i in range(6)]


def test_a_tools_own_timeout_wins_over_the_runners(mode):
    from conftest import run_in_mode

    @tool(timeout=0.05)
    async def impatient() -> str:
        """Has its own, short timeout."""
        await asyncio.sleep(5)
        return "late"

    @tool
    async def patient() -> str:
        """Uses the Runner's, longer timeout."""
        await asyncio.sleep(0.1)
        return "on time"

    session = Session()
    model = ScriptedModel([[call("impatient", call_id="i"), call("patient", call_id="p")], "done"])
    run_in_mode(Runner(session, tool_timeout=2), Agent(name="x", model=model, tools=[impatient, patient]), "go", mode)
    answers = {m["tool_call_id"]: m["content"] for m in session.dialogs if m["role"] == "tool"}
    assert "@tool(timeout)=0.05 s" in answers["i"] and answers["p"] == "on time"
    assert_valid(session.dialogs)


def test_tool_timeout_must_be_positive():
    from agentsilex.errors import UserError

    with pytest.raises(UserError, match="timeout"):
        tool(timeout=0)(lambda: None)
