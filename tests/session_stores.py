"""Fixtures for the session-store tests: a factory per store, each on a real backend.

Redis and PostgreSQL come from `bash .ci/services.sh` (CI runs it from .ci/run). When one is not running,
its tests skip with the reason, except in CI (CI=true), where they fail: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, Callable, Iterator

import pytest

from agentsilex import Session

REDIS_URL = os.environ.get("AGENTSILEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get("AGENTSILEX_TEST_POSTGRES_URL",
                              "postgresql+psycopg://agentsilex:agentsilex@127.0.0.1:5432/agentsilex_test")
PERSISTENT = ["sqlite", "sqlalchemy-sqlite", "redis", "postgres"]
ALL_STORES = ["memory", *PERSISTENT]

Factory = Callable[[str], Any]


def tool_turn(n: int, calls: int = 2) -> list[dict]:
    """A user message, an assistant message with `calls` tool calls, their results, and a final answer."""
    ids = [f"c{n}_{i}" for i in range(calls)]
    return ([{"role": "user", "content": f"question {n}"},
             {"role": "assistant", "content": None, "tool_calls": [
                 {"id": i, "type": "function", "function": {"name": "look", "arguments": f'{{"n": {n}}}'}}
                 for i in ids]}]
            + [{"role": "tool", "tool_call_id": i, "content": f"result {i}"} for i in ids]
            + [{"role": "assistant", "content": f"answer {n}"}])


def history(turns: int) -> list[dict]:
    return [message for n in range(turns) for message in tool_turn(n)]


def server_missing(what: str, error: Exception) -> None:
    """Skip locally with the reason; fail in CI, where the server must be there."""
    message = f"{what} is not reachable ({type(error).__name__}: {error}); start it with: bash .ci/services.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _redis_client() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        server_missing(f"Redis at {REDIS_URL}", exc)
    return client


def _postgres_engine(schema: str) -> Any:
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        server_missing(f"PostgreSQL at {POSTGRES_URL}", exc)
    engine.dispose()
    # Each test gets its own schema, so listing sessions sees only that test's sessions.
    return sa.create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})


@pytest.fixture(params=ALL_STORES)
def kind(request: pytest.FixtureRequest) -> str:
    """Which store; override with @pytest.mark.parametrize("kind", PERSISTENT)."""
    return request.param


@pytest.fixture
def store_factory(kind: str, tmp_path: Any) -> Iterator[Factory]:
    """`make(session_id)` for the store named by `kind`; cleans up afterwards."""
    yield from _factory(kind, tmp_path)


def _factory(kind: str, tmp_path: Any) -> Iterator[Factory]:
    if kind == "memory":
        yield lambda session_id: Session()
    elif kind == "sqlite":
        from agentsilex.stores import SQLiteSession

        path = tmp_path / "sessions.db"
        yield lambda session_id: SQLiteSession(session_id, path, lock_timeout=0.2)
    elif kind == "sqlalchemy-sqlite":
        from agentsilex.stores import SQLAlchemySession

        url = f"sqlite:///{tmp_path / 'sa.db'}"
        yield lambda session_id: SQLAlchemySession(session_id, url=url, lock_timeout=0.2)
    elif kind == "redis":
        from agentsilex.stores import RedisSession

        client, prefix = _redis_client(), f"test-{uuid.uuid4().hex}"
        yield lambda session_id: RedisSession(session_id, client=client, prefix=prefix, lock_timeout=0.2)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    elif kind == "postgres":
        import sqlalchemy as sa

        from agentsilex.stores import SQLAlchemySession

        schema = f"t_{uuid.uuid4().hex[:12]}"
        engine = _postgres_engine(schema)
        yield lambda session_id: SQLAlchemySession(session_id, engine=engine, lock_timeout=0.2)
        engine.dispose()
        with sa.create_engine(POSTGRES_URL).begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    else:
        raise ValueError(kind)


def separate_handle(store: Any) -> Any:
    """The same session through its own connection and cache, as another process would see it."""
    from agentsilex.stores.sqlite import SQLiteSession, _Database

    if isinstance(store, SQLiteSession):
        return SQLiteSession(store.session_id, _database=_Database(store._db.path), lock_timeout=store.lock_timeout)
    return store._sibling(store.session_id) if hasattr(store, "_sibling") else store


def corrupt_row(store: Any, kind: str, row: int, data: str, version: int = 1) -> None:
    """Overwrite one stored row behind the store's back, as a bad writer or a disk fault would."""
    if kind == "sqlite":
        store._db.connection.execute(
            "UPDATE agentsilex_messages SET data = ?, version = ? WHERE session_id = ? AND seq = ?",
            (data, version, store.session_id, row))
    elif kind == "redis":
        store._client.lset(store._key + ":messages", row, f"{version}|{data}".encode("utf-8", "surrogatepass"))
    else:
        messages = store._t.messages
        with store.engine.begin() as connection:
            connection.execute(messages.update().where(messages.c.session_id == store.session_id,
                                                       messages.c.seq == row).values(data=data, version=version))
