"""One writer per session on Redis and PostgreSQL (item 2), and store outages and ids (item 12)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from conftest import run_in_mode
from session_stores import POSTGRES_URL, kind, store_factory  # noqa: F401

from agentsilex import Agent, Runner, tool
from agentsilex.control.hooks import RunHooks
from agentsilex.errors import SessionBusyError, SessionLockLostError, SessionUnavailableError, UserError
from agentsilex.testing import ScriptedModel, call

LEASED = ["redis", "sqlalchemy-sqlite"]  # stores whose writer lock is a lease that must be renewed
FENCED = ["redis", "sqlalchemy-sqlite", "postgres"]


def _session(store_factory, kind, lease):
    store = store_factory("s1")
    store.lock_lease = lease
    return store


@pytest.mark.parametrize("kind", LEASED)
def test_a_long_tool_call_keeps_the_lease(store_factory, kind, mode):
    store = _session(store_factory, kind, lease=0.4)
    seen = []

    @tool
    def slow() -> str:
        """Takes longer than the lease."""
        time.sleep(1.0)
        try:
            store._sibling("s1").acquire_writer(0)()  # another run, through its own object
            seen.append("a second run got in")
        except SessionBusyError:
            seen.append("busy")
        return "done"

    agent = Agent(name="a", model=ScriptedModel([call("slow"), "ok"]), tools=[slow])
    assert run_in_mode(Runner(store), agent, "go", mode)[0].final_output == "ok"
    assert seen == ["busy"]


def _steal(store, kind):
    """Another run takes the lock behind this run's back (its lease expired while the process was frozen...)."""
    if kind == "redis":
        store._client.set(store._key + ":lock", "intruder")
    elif kind == "sqlalchemy-sqlite":
        locks = store._t.locks
        with store.engine.begin() as connection:
            connection.execute(locks.update().where(locks.c.session_id == store.session_id).values(owner="intruder"))
    else:  # the database restarted: the lock's connection is gone, and the lock with it
        _terminate_lock_backend(store)


def _terminate_lock_backend(store):
    params = store._fence[2]
    with sa.create_engine(POSTGRES_URL).begin() as connection:
        pid = connection.execute(sa.text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                                         "classid::bigint = :high AND objid::bigint = :low"), params).scalar_one()
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(0.2)


@pytest.mark.parametrize("kind", FENCED)
def test_a_run_that_lost_its_lock_stores_nothing_more(store_factory, kind, mode):
    store = store_factory("s1")

    @tool
    def step() -> str:
        """Meanwhile, the lock is lost."""
        _steal(store, kind)
        return "done"

    agent = Agent(name="a", model=ScriptedModel([call("step"), "ok"]), tools=[step])
    with pytest.raises(SessionLockLostError, match="not stored"):
        run_in_mode(Runner(store), agent, "go", mode)
    assert store.get_dialogs() == [{"role": "user", "content": "go"}]  # no tool step, no answer


class _LoseLockAtTheEnd(RunHooks):
    def __init__(self, store, kind):
        self.store, self.kind = store, kind

    def on_run_end(self, context, agent, result):
        if self.kind == "postgres":
            _terminate_lock_backend(self.store)
        else:
            import redis

            self.store._client = redis.Redis(port=1)  # Redis went away: the release cannot reach it
            self.store.retry_for = 0.3


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_a_stored_run_never_fails_because_the_unlock_failed(store_factory, kind, mode):
    store = store_factory("s1")
    result, _ = run_in_mode(Runner(store, hooks=_LoseLockAtTheEnd(store, kind)),
                            Agent(name="a", model=ScriptedModel(["ok"])), "go", mode)
    assert result.final_output == "ok"


def test_redis_outage_is_a_session_unavailable_error(mode):
    from agentsilex.stores import RedisSession

    store = RedisSession("s1", url="redis://127.0.0.1:1/0", retry_for=0.3)  # gone for good: typed after 0.3 s
    for action in (store.get_dialogs, lambda: store.add_new_messages({"role": "user", "content": "x"}), store.clean):
        with pytest.raises(SessionUnavailableError, match="Cannot reach Redis"):
            action()
    with pytest.raises(SessionUnavailableError):
        run_in_mode(Runner(store), Agent(name="a", model=ScriptedModel(["ok"])), "go", mode)


def test_postgres_outage_is_a_session_unavailable_error():
    from agentsilex.stores import SQLAlchemySession

    url = POSTGRES_URL.replace(":5432/", ":1/")
    with pytest.raises(SessionUnavailableError, match="Cannot reach the database"):
        SQLAlchemySession("s1", url=url)


def test_a_session_id_too_long_for_the_stores_is_a_user_error(store_factory, kind):
    if kind == "memory":
        pytest.skip("the in-memory Session has no id")
    with pytest.raises(UserError, match="at most 255"):
        store_factory("x" * 300)


def test_redis_lease_is_short_by_default():
    from agentsilex.stores import RedisSession

    assert RedisSession("s1").lock_lease <= 15  # a crashed run's lease frees the session within seconds
