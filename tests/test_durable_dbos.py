"""Durable runs on DBOS, on SQLite and on PostgreSQL: the same durable driver as on Temporal, checkpointed to the
database. A process killed with SIGKILL mid-tool is recovered by the next one that launches."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentsilex.history import pairs_intact
from agentsilex.testing import LoopbackServer, ScriptedModel
from durable.agents import lines
from durable.support import brain
from session_stores import POSTGRES_URL, server_missing

APP = Path(__file__).parent / "durable" / "dbos_app.py"


def _postgres(schema: str) -> tuple[str, str]:
    """(DBOS system database URL, session store URL) on the test PostgreSQL, each test in schemas of its own."""
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        server_missing(f"PostgreSQL at {POSTGRES_URL}", exc)
    finally:
        engine.dispose()
    return POSTGRES_URL.replace("+psycopg", ""), f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: Any, tmp_path: Path, monkeypatch: Any) -> Any:
    server = LoopbackServer(function=brain).start()
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("DURABLE_LOG", str(tmp_path / "log.txt"))
    schema = f"durable_{os.getpid()}_{int(time.time() * 1000) % 10**9}"
    if request.param == "sqlite":
        urls = (f"sqlite:///{tmp_path / 'dbos.sqlite'}", f"sqlite:///{tmp_path / 'sessions.db'}")
    else:
        urls = _postgres(schema)
    yield server, urls
    server.stop()
    if request.param == "postgres":
        import sqlalchemy as sa

        with sa.create_engine(POSTGRES_URL).begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def _start(urls: tuple[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(APP), *urls, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> list[str]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-3000:]
    return out.splitlines()


def _stored(urls: tuple[str, str], session_id: str) -> list[dict]:
    from agentsilex.app.common import Store

    return Store(urls[1]).session(session_id).get_dialogs()


def test_a_process_killed_mid_tool_is_recovered_and_repeats_nothing(backend):
    server, urls = backend
    first = _start(urls, "run", "two steps", "d1")
    workflow_id = first.stdout.readline().split()[1]
    deadline = time.monotonic() + 30
    while not [line for line in lines() if line[1] == "start"]:
        assert time.monotonic() < deadline and first.poll() is None, first.stderr.read()[-3000:]
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    out = _finish(_start(urls, "recover", workflow_id))
    assert out[-1] == "result done: two steps"
    log = lines()
    starts = [line for line in log if line[1] == "start"]
    assert len([line for line in log if line[1] == "note"]) == 1
    assert len(starts) == 2 and starts[0][2] == starts[1][2]  # retried with the same idempotency key
    assert len([line for line in log if line[1] == "done"]) == 1
    assert len(server.requests) == 3  # one model request per step
    stored = _stored(urls, "d1")
    assert pairs_intact(stored) and [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant",
                                                                     "tool", "assistant"]


def test_a_run_waits_for_approval_and_goes_on(backend):
    _, urls = backend
    out = _finish(_start(urls, "approve", "pay the rent", "d2"))
    assert out[-1] == "result done: pay the rent"
    assert len([line for line in lines() if line[1] == "wire"]) == 1
    assert [m["role"] for m in _stored(urls, "d2")] == ["user", "assistant", "tool", "assistant"]


def test_a_durable_runner_inside_your_own_dbos_workflow(backend):
    _, urls = backend
    out = _finish(_start(urls, "own", "own"))
    assert out[-1].startswith("result done: note first | done: pay the second")
    assert [m["role"] for m in _stored(urls, "own")] == ["user", "assistant", "tool", "assistant"] * 2
    assert [line[1] for line in lines()] == ["note", "wire"]


def test_outside_a_workflow_the_dbos_runner_refuses_unless_told(tmp_path, monkeypatch):
    import asyncio

    from agentsilex import UserError
    from agentsilex.durable.dbos import AgentsilexDBOS, DurableRunner
    from durable.agents import agents

    monkeypatch.setenv("DURABLE_LOG", str(tmp_path / "log.txt"))
    agent = agents()[0].clone(model=ScriptedModel(["hi"]))
    AgentsilexDBOS(agents=[agent], store=f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(UserError, match="outside a DBOS workflow"):
        asyncio.run(DurableRunner("x").run(agent, "hello"))
    assert asyncio.run(DurableRunner("x", allow_outside_workflow=True).run(agent, "hello")).final_output == "hi"
