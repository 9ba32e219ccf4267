"""One writer per session: concurrent runs (threads, tasks, processes) never interleave."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from session_stores import kind, separate_handle, store_factory  # noqa: F401  (fixtures)

from agentsilex import Agent, Runner, Session, tool
from agentsilex.errors import SessionBusyError
from agentsilex.history import pairs_intact
from agentsilex.testing import ScriptedModel, call


def blocking_tool(started: threading.Event, release: threading.Event):
    @tool
    def slow() -> str:
        """Takes a while."""
        started.set()
        assert release.wait(5)
        return "done"
    return slow


def second_writer(store_factory, kind, first, lock_timeout):
    """Another handle on the same session (a new connection); the in-memory Session can only be shared."""
    second = first if kind == "memory" else separate_handle(store_factory("s1"))
    second.lock_timeout = lock_timeout
    return second


def run_in_thread(runner, agent, prompt, box):
    def target():
        try:
            box["result"] = runner.run(agent, prompt)
        except Exception as exc:
            box["error"] = exc
    thread = threading.Thread(target=target)
    thread.start()
    return thread


def test_second_run_waits_for_the_first_and_never_interleaves(store_factory, kind):
    started, release = threading.Event(), threading.Event()
    first = store_factory("s1")
    first.lock_timeout = 5
    agent_one = Agent(name="one", model=ScriptedModel([call("slow"), "first done"]),
                      tools=[blocking_tool(started, release)])
    agent_two = Agent(name="two", model=ScriptedModel(["second done"]))
    one, two = {}, {}
    thread_one = run_in_thread(Runner(first), agent_one, "first", one)
    assert started.wait(5)
    thread_two = run_in_thread(Runner(second_writer(store_factory, kind, first, 5)), agent_two, "second", two)
    time.sleep(0.15)
    assert thread_two.is_alive() and agent_two.model.requests == []  # waiting, not running
    release.set()
    thread_one.join(5), thread_two.join(5)
    assert one["result"].final_output == "first done" and two["result"].final_output == "second done"
    messages = first.get_dialogs()
    assert [m.get("content") for m in messages if m["role"] in ("user", "assistant")] == \
        ["first", None, "first done", "second", "second done"]
    assert pairs_intact(messages)


def test_second_run_gets_session_busy_after_bounded_wait(store_factory, kind):
    started, release = threading.Event(), threading.Event()
    first = store_factory("s1")
    first.lock_timeout = 5
    agent_one = Agent(name="one", model=ScriptedModel([call("slow"), "ok"]), tools=[blocking_tool(started, release)])
    one = {}
    thread_one = run_in_thread(Runner(first), agent_one, "first", one)
    assert started.wait(5)
    second = second_writer(store_factory, kind, first, 0.1)
    began = time.monotonic()
    with pytest.raises(SessionBusyError, match="in use by another run"):
        Runner(second).run(Agent(name="two", model=ScriptedModel(["never"])), "second")
    assert 0.09 < time.monotonic() - began < 2
    release.set()
    thread_one.join(5)
    assert [m["content"] for m in first.get_dialogs() if m["role"] == "user"] == ["first"]  # nothing leaked in
    Runner(second).run(Agent(name="two", model=ScriptedModel(["now"])), "again")  # free again


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_two_tasks_on_one_session_do_not_interleave(store_factory, kind):
    @tool
    async def wait_for_go() -> str:
        """Waits."""
        await asyncio.sleep(0.05)
        return "go"

    store = store_factory("s1")

    async def main():
        agent = Agent(name="a", model=ScriptedModel([call("wait_for_go"), "one"]), tools=[wait_for_go])
        runner = Runner(store)
        first = asyncio.create_task(runner.run_async(agent, "first"))
        await asyncio.sleep(0.01)  # the first task now holds the session, waiting in its tool
        # Waiting inside the event loop would block the task holding the lock, so the second fails at once; a
        # store's steps run in worker threads (stores/offload.py), under the same rule.
        began = time.monotonic()
        with pytest.raises(SessionBusyError):
            await runner.run_async(Agent(name="b", model=ScriptedModel(["two"])), "second")
        assert time.monotonic() - began < 0.15  # not the store's lock_timeout (0.2 s)
        return await first

    assert asyncio.run(main()).final_output == "one"
    assert [m["content"] for m in store.get_dialogs() if m["role"] == "user"] == ["first"]


HOLDER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from session_stores import {factory}
    store = {make}
    release = store.acquire_writer(5)
    print("locked", flush=True)
    sys.stdin.readline()
    release()
    print("released", flush=True)
""")


def holder_process(kind, tmp_path, store):
    """A child process that takes the session's writer lock and holds it until told (or killed)."""
    if kind == "sqlite":
        code = HOLDER.format(factory="PERSISTENT", make=f"__import__('agentsilex.stores').stores.SQLiteSession("
                                                        f"'s1', {str(store._db.path)!r})")
    elif kind == "postgres":
        code = HOLDER.format(factory="POSTGRES_URL",
                             make="__import__('agentsilex.stores').stores.SQLAlchemySession('s1', url=POSTGRES_URL)")
    else:
        code = HOLDER.format(factory="REDIS_URL", make=f"__import__('agentsilex.stores').stores.RedisSession("
                                                      f"'s1', url=REDIS_URL, prefix={store.prefix!r})")
    child = subprocess.Popen([sys.executable, "-c", code, "x", os.path.dirname(__file__)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "locked"
    return child


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "redis"])
def test_run_in_another_process_keeps_this_one_out(store_factory, kind, tmp_path):
    store = store_factory("s1")
    store.add_new_messages({"role": "user", "content": "hello"})  # creates the tables / file for the child
    child = holder_process(kind, tmp_path, store)
    try:
        with pytest.raises(SessionBusyError):
            Runner(store).run(Agent(name="a", model=ScriptedModel(["no"])), "blocked")
        if kind == "redis":  # a lease: released by the holder (a crashed holder frees it after lock_lease)
            child.stdin.write("\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "released"
        else:  # the database or kernel frees the lock when the holder dies, even by SIGKILL
            os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
        store.lock_timeout = 5
        assert Runner(store).run(Agent(name="a", model=ScriptedModel(["yes"])), "free").final_output == "yes"
    finally:
        if child.poll() is None:
            child.kill()


def test_in_memory_session_lock_is_per_object():
    a, b = Session(), Session()
    a.lock_timeout = b.lock_timeout = 0.05
    model = ScriptedModel(["a", "b"])
    # Two separate sessions never wait for each other.
    assert Runner(a).run(Agent(name="x", model=model), "1").final_output == "a"
    assert Runner(b).run(Agent(name="x", model=model), "2").final_output == "b"
