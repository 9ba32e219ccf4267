"""Async runs never block the event loop on a store (issue 21, point 6).

The attack: 500 concurrent `run_async` on PostgreSQL with a pool of 20+20 stored 39 messages in 130 s, every
connection idle: the async driver called the store on the event loop, so a blocked pool checkout froze the loop
while the runs holding connections could not finish. Now a store's calls run in worker threads
(stores/offload.py), and a gate sized to the pool lets runs take their locks a few at a time."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from conftest import run_in_mode
from history import assert_valid_history
from session_stores import PERSISTENT, POSTGRES_URL, kind, server_missing, store_factory  # noqa: F401

from agentsilex import Agent, Runner, tool
from agentsilex.errors import SessionUnavailableError
from agentsilex.stores import SQLAlchemySession
from agentsilex.testing import ScriptedModel, call

ASYNC_MODES = ["async", "async_stream"]


@pytest.fixture
def postgres_engine():
    """An engine on a schema of its own; `make(**pool)` gives one with that pool (disposed afterwards)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2}).begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        server_missing(f"PostgreSQL at {POSTGRES_URL}", exc)
    engines = []

    def make(**pool):
        engines.append(sa.create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}, **pool))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()
    with sa.create_engine(POSTGRES_URL).begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@tool
async def add(a: int, b: int) -> int:
    """Add two numbers (after a moment, as a real tool would take)."""
    await asyncio.sleep(0.01)
    return a + b


def _agent(index: int) -> Agent:
    return Agent(name="calc", model=ScriptedModel([call("add", a=index, b=1), f"sum={index + 1}"]), tools=[add])


def _watched(coroutine_function, seconds: float):
    """asyncio.run in a thread, failing (instead of hanging) after `seconds`: a frozen event loop cannot time itself
    out. Also measures how late a 10 ms heartbeat on that event loop ever ran (the loop's longest freeze)."""
    box: dict = {"lag": 0.0}

    async def main():
        async def heartbeat():
            while True:
                started = time.monotonic()
                await asyncio.sleep(0.01)
                box["lag"] = max(box["lag"], time.monotonic() - started - 0.01)

        beat = asyncio.create_task(heartbeat())
        try:
            return await coroutine_function()
        finally:
            beat.cancel()

    def target():
        try:
            box["value"] = asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"the runs did not finish within {seconds} s: the event loop is stuck"
    box["seconds"] = time.monotonic() - started
    if "error" in box:
        raise box["error"]
    return box


def test_500_concurrent_async_runs_on_a_small_pool_all_finish(postgres_engine):
    engine = postgres_engine(pool_size=5, max_overflow=5, pool_timeout=30)
    sessions = [SQLAlchemySession(f"run-{index}", engine=engine) for index in range(500)]

    async def one(index: int):
        runner = Runner(sessions[index])
        if index % 2:
            stream = runner.run_stream_async(_agent(index), f"add {index} 1")
            async for _ in stream:
                pass
            return stream.result.final_output
        return (await runner.run_async(_agent(index), f"add {index} 1")).final_output

    async def everything():
        return await asyncio.gather(*(one(index) for index in range(500)), return_exceptions=True)

    box = _watched(everything, 50)
    print(f"500 runs: {box['seconds']:.1f} s, longest event-loop freeze {box['lag'] * 1000:.0f} ms")
    assert box["value"] == [f"sum={index + 1}" for index in range(500)]
    assert box["lag"] < 2.0, f"the event loop froze for {box['lag']:.2f} s"
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT count(*) FROM agentsilex_messages")).scalar()
    assert stored == 2000  # user, the tool call, its result, the answer: for every run, once
    for session in sessions[::50]:
        assert_valid_history(session.get_dialogs())


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_run_waiting_for_the_pool_does_not_freeze_the_event_loop(postgres_engine, mode):
    engine = postgres_engine(pool_size=2, max_overflow=0, pool_timeout=1)
    session = SQLAlchemySession("starved", engine=engine)
    held = [engine.connect(), engine.connect()]  # someone else holds every connection (outside any gate)
    try:
        async def starved():
            with pytest.raises(SessionUnavailableError, match="No free database connection"):
                await _one_in_mode(Runner(session), _agent(1), mode)

        box = _watched(starved, 20)
    finally:
        for connection in held:
            connection.close()
    assert box["lag"] < 0.5, f"the event loop froze for {box['lag']:.2f} s while the run waited for the pool"
    assert session.get_dialogs() == []


async def _one_in_mode(runner, agent, mode, prompt="go"):
    if mode == "async":
        return await runner.run_async(agent, prompt)
    stream = runner.run_stream_async(agent, prompt)
    async for _ in stream:
        pass
    return stream.result


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_the_gate_fails_fast_and_typed_when_no_slot_frees_up(postgres_engine, mode):
    engine = postgres_engine(pool_size=1, max_overflow=1, pool_timeout=0.5)  # a gate of one run

    @tool
    async def hold(seconds: float) -> str:
        """Holds the run (and its slot) for a while."""
        await asyncio.sleep(seconds)
        return "held"

    async def both():
        first = asyncio.create_task(_one_in_mode(
            Runner(SQLAlchemySession("first", engine=engine)),
            Agent(name="a", model=ScriptedModel([call("hold", seconds=2.0), "done"]), tools=[hold]), mode))
        await asyncio.sleep(0.3)
        began = time.monotonic()
        with pytest.raises(SessionUnavailableError, match="serves 1 runs at once .* none finished within 0.5 s"):
            await _one_in_mode(Runner(SQLAlchemySession("second", engine=engine)), _agent(2), mode)
        waited = time.monotonic() - began
        return (await first).final_output, waited

    box = _watched(both, 20)
    output, waited = box["value"]
    assert output == "done" and 0.4 < waited < 1.5
    assert SQLAlchemySession("second", engine=engine).get_dialogs() == []  # nothing stored


@pytest.mark.parametrize("kind", PERSISTENT)
def test_no_store_call_runs_on_the_event_loop_thread(store_factory, kind, mode):
    store = store_factory("watched")
    threads: list[str] = []
    for name in ("get_dialogs", "add_new_messages", "acquire_writer", "get_state", "set_state"):
        method = getattr(store, name)

        def watched(*args, _method=method, **kwargs):
            threads.append(threading.current_thread().name)
            return _method(*args, **kwargs)

        setattr(store, name, watched)
    agent = Agent(name="calc", model=ScriptedModel([call("add", a=1, b=2), "3"]), tools=[add])
    loop_thread = threading.current_thread().name  # asyncio.run runs its event loop in this thread
    assert run_in_mode(Runner(store, conversation=True), agent, "1+2?", mode)[0].final_output == "3"
    assert len(threads) >= 5  # the store was used: the lock, loads, commits, state
    if mode in ASYNC_MODES:
        assert loop_thread not in threads, threads
    else:
        assert set(threads) == {loop_thread}  # the sync modes are untouched: every call in the caller's thread


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_the_runs_context_reaches_what_runs_in_the_worker_thread(store_factory, mode):
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")
    seen = []

    def instructions(context):
        seen.append(request_id.get())  # rendered while the request is built: in the worker thread
        return "Be brief."

    async def main():
        request_id.set("req-42")
        agent = Agent(name="a", model=ScriptedModel(["hi"]), instructions=instructions)
        return await _one_in_mode(Runner(store_factory("ctx")), agent, mode)

    assert asyncio.run(main()).final_output == "hi" and seen == ["req-42"]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_run_cancelled_mid_step_leaves_the_session_valid_and_free(store_factory, kind, mode):
    store = store_factory("cancelled")
    appending = threading.Event()
    original = store.add_new_messages

    def slow_append(messages):
        appending.set()
        time.sleep(0.3)  # the task is cancelled meanwhile: this append must still finish whole
        original(messages)

    store.add_new_messages = slow_append

    async def main():
        task = asyncio.create_task(_one_in_mode(Runner(store), _agent(1), mode))
        while not appending.is_set():
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        store.add_new_messages = original
        return await _one_in_mode(Runner(store), Agent(name="b", model=ScriptedModel(["next"])), mode, "again")

    assert asyncio.run(main()).final_output == "next"  # the lock and the slot were freed
    dialogs = store.get_dialogs()
    assert_valid_history(dialogs)
    assert [m["content"] for m in dialogs if m["role"] == "user"] == ["go", "again"]
