"""`SQLAlchemySession`: sessions in any SQL database SQLAlchemy speaks; tested on PostgreSQL, for many machines.
Needs `pip install -e '.[sql]'` (SQLAlchemy and psycopg).

    session = SQLAlchemySession("chat-42", url="postgresql+psycopg://user:pw@db/agents")

On PostgreSQL the writer lock is an advisory lock held on its own connection, so the database drops it
when a crashed process's connection goes. Other databases use a lease row in `agentsilex_locks`.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..errors import SessionError, UserError
from .base import SessionLockLostError, SessionUnavailableError
from . import codec
from .base import CLAIMS, DEFAULT_LOCK_TIMEOUT, PersistentSession, _check_id
from .locking import poll

_engines: dict[str, Any] = {}


class SQLAlchemySession(PersistentSession):
    """A session in a SQL database. Pass `url=` or a ready `engine=`; tables are created if missing."""

    def __init__(self, session_id: str, *, url: str | None = None, engine: Any = None,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT, lock_lease: float = 120.0,
                 _tables: Any = None) -> None:
        if (url is None) == (engine is None):
            raise UserError("SQLAlchemySession needs exactly one of url= or engine=.")
        self.session_id = _check_id(session_id)
        self.lock_timeout = lock_timeout
        self.lock_lease = lock_lease  # only for databases without advisory locks
        self.engine = engine if url is None else _engine(url)
        self._fence: tuple[Any, str, Any] | None = None  # set while a run holds the writer lock
        with _outage(self.session_id):
            self._t = _tables or _Tables(self.engine)

    def _read_since(self, rev: int | None, after: int) -> tuple[int, int, list[dict], int]:
        sa, m, r = _sa(), self._t.messages, self._t.revisions
        # One snapshot for the revision and the rows (PostgreSQL reads committed per statement by default).
        options = {"isolation_level": "REPEATABLE READ"} if self.engine.dialect.name in ("postgresql", "mysql") else {}
        with self.engine.connect().execution_options(**options) as connection, connection.begin():
            current = connection.execute(sa.select(r.c.rev).where(r.c.session_id == self.session_id)).scalar() or 0
            after = after if current == rev else -1
            mine = (m.c.session_id == self.session_id, m.c.seq > after)
            rows_query = sa.select(m.c.seq, m.c.version, m.c.data).where(*mine).order_by(m.c.seq)
            if self.engine.dialect.name == "postgresql":  # join on the server: one row back, not thousands
                from sqlalchemy.dialects.postgresql import aggregate_order_by

                joined, count, low, high, last = connection.execute(sa.select(
                    sa.func.string_agg(m.c.data, aggregate_order_by(sa.literal(","), m.c.seq)), sa.func.count(),
                    sa.func.min(m.c.version), sa.func.max(m.c.version), sa.func.max(m.c.seq)).where(*mine)).one()
                ok = low == high == codec.SCHEMA_VERSION
                messages = self._decode_fast(joined, count, ok, lambda: list(connection.execute(rows_query)))
                return current, after, messages, -1 if last is None else last
            rows = [tuple(row) for row in connection.execute(rows_query)]
        ok = all(row[1] == codec.SCHEMA_VERSION and isinstance(row[2], str) for row in rows)
        messages = self._decode_fast(",".join(row[2] for row in rows) if ok else None, len(rows), ok, lambda: rows)
        return current, after, messages, rows[-1][0] if rows else -1

    def _bump(self, connection: Any) -> None:
        """Every change but an append bumps the revision (see PersistentSession._load); never reset."""
        r = self._t.revisions
        changed = connection.execute(r.update().where(r.c.session_id == self.session_id).values(rev=r.c.rev + 1))
        if not changed.rowcount:
            connection.execute(r.insert(), [{"session_id": self.session_id, "rev": 1}])

    def _count(self) -> int:
        sa, m = _sa(), self._t.messages
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).where(m.c.session_id == self.session_id)).scalar_one()

    def _append(self, texts: list[str]) -> None:
        sa, m = _sa(), self._t.messages
        for attempt in range(100):
            try:
                with self._writing() as connection:
                    last = connection.execute(sa.select(sa.func.max(m.c.seq))
                                              .where(m.c.session_id == self.session_id)).scalar_one()
                    start = -1 if last is None else last
                    connection.execute(m.insert(), [self._row(start + 1 + i, text) for i, text in enumerate(texts)])
                return
            except sa.exc.IntegrityError:
                # Another writer took the same row numbers first (appends outside a run's writer lock):
                # the whole batch was rolled back, so number it again after theirs.
                time.sleep(0.001 * attempt)
        raise SessionError(f"Could not append to session {self.session_id!r}: 100 concurrent appends collided. "
                           "Let one run write a session at a time (Runner does).")

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        """A transaction for an append that commits only while this run still holds the writer lock.

        PostgreSQL: the append runs on the connection that holds the advisory lock, after checking the lock
        is still there; if the server restarted or the connection was killed, the lock is gone and so is
        that connection, so nothing can be written under a lock we lost. Lease rows: the row must still be ours.
        """
        fence = self._fence
        if fence is None:
            with self.engine.begin() as connection:
                yield connection
            return
        sa, (connection, check, params) = _sa(), fence
        try:
            with connection.begin():
                held = connection.execute(sa.text(check), params() if callable(params) else params).scalar()
                if not held:
                    raise _lost(self.session_id)
                yield connection
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated or isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)):
                raise _lost(self.session_id) from None
            raise

    def _row(self, seq: int, text: str) -> dict:
        return {"session_id": self.session_id, "seq": seq, "version": codec.SCHEMA_VERSION, "data": text}

    def _truncate(self, keep: int) -> None:
        sa, m = _sa(), self._t.messages
        mine = m.c.session_id == self.session_id
        with self.engine.begin() as connection:
            first = connection.execute(sa.select(m.c.seq).where(mine).order_by(m.c.seq).offset(keep).limit(1)) \
                .scalar_one_or_none()
            if first is not None:
                connection.execute(m.delete().where(mine, m.c.seq >= first))
                self._bump(connection)

    def _replace(self, texts: list[str]) -> None:
        m = self._t.messages
        with self.engine.begin() as connection:
            connection.execute(m.delete().where(m.c.session_id == self.session_id))
            self._bump(connection)
            if texts:
                connection.execute(m.insert(), [self._row(i, text) for i, text in enumerate(texts)])

    def _clear(self) -> None:
        with self.engine.begin() as connection:
            for table in (self._t.messages, self._t.state):
                connection.execute(table.delete().where(table.c.session_id == self.session_id))
            self._bump(connection)

    def _ids(self) -> list[str]:
        sa = _sa()
        query = sa.union(sa.select(self._t.messages.c.session_id), sa.select(self._t.state.c.session_id))
        with self.engine.connect() as connection:
            return [row[0] for row in connection.execute(query)]

    def _sibling(self, session_id: str) -> SQLAlchemySession:
        return SQLAlchemySession(session_id, engine=self.engine, lock_timeout=self.lock_timeout,
                                 lock_lease=self.lock_lease, _tables=self._t)

    def _get_state(self, key: str) -> str | None:
        s = self._t.state
        query = _sa().select(s.c.value).where(s.c.session_id == self.session_id, s.c.key == key)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()

    def _set_state(self, key: str, text: str | None) -> None:
        s = self._t.state
        with self.engine.begin() as connection:
            connection.execute(s.delete().where(s.c.session_id == self.session_id, s.c.key == key))
            if text is not None:
                connection.execute(s.insert(), [{"session_id": self.session_id, "key": key, "value": text}])

    def _state_items(self) -> list[tuple[str, Any]]:
        s = self._t.state
        with self.engine.connect() as connection:
            keys = connection.execute(_sa().select(s.c.key).where(s.c.session_id == self.session_id)).scalars().all()
        return [(key, self.get_state(key)) for key in keys]

    def _claim(self, token: str) -> bool:
        sa, s = _sa(), self._t.state
        try:
            with self.engine.begin() as connection:
                connection.execute(s.insert(), [{"session_id": CLAIMS, "key": token, "value": "1"}])
        except sa.exc.IntegrityError:
            return False
        return True

    def _acquire(self, timeout: float) -> Callable[[], None]:
        if self.engine.dialect.name == "postgresql":
            return self._advisory_lock(timeout)
        return self._lease_lock(timeout)

    def _advisory_lock(self, timeout: float) -> Callable[[], None]:
        sa = _sa()
        digest = hashlib.sha256(f"agentsilex:{self.session_id}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        connection = self.engine.connect()
        try_lock = sa.text("SELECT pg_try_advisory_lock(:key)")
        try:
            poll(lambda: bool(connection.execute(try_lock, {"key": key}).scalar()), timeout, self.session_id)
            connection.commit()
        except BaseException:
            connection.close()
            raise
        # A bigint advisory lock shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
        self._fence = (connection, _HELD, {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF})

        def release() -> None:
            self._fence = None
            try:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
            except Exception:  # the connection (and with it the lock) is gone already: never fail a stored run
                pass
            finally:
                _close_quietly(connection)
        return release

    def _lease_lock(self, timeout: float) -> Callable[[], None]:
        sa, locks, owner = _sa(), self._t.locks, uuid.uuid4().hex

        def try_once() -> bool:
            try:
                with self.engine.begin() as connection:
                    connection.execute(locks.delete().where(locks.c.session_id == self.session_id,
                                                            locks.c.expires_at < time.time()))
                    connection.execute(locks.insert(), [{"session_id": self.session_id, "owner": owner,
                                                         "expires_at": time.time() + self.lock_lease}])
                return True
            except sa.exc.IntegrityError:
                return False

        poll(try_once, timeout, self.session_id)
        stop = threading.Event()
        mine = (locks.c.session_id == self.session_id, locks.c.owner == owner)

        def heartbeat() -> None:  # renew while the run lives, so a long tool call keeps the lease
            while not stop.wait(self.lock_lease / 3):
                try:
                    with self.engine.begin() as connection:
                        connection.execute(locks.update().where(*mine).values(expires_at=time.time() + self.lock_lease))
                except Exception:
                    pass

        threading.Thread(target=heartbeat, name="agentsilex-sql-lease", daemon=True).start()
        connection = self.engine.connect()
        self._fence = (connection, "SELECT count(*) FROM agentsilex_locks WHERE session_id = :sid AND owner = :owner "
                                   "AND expires_at > :now", lambda: {"sid": self.session_id, "owner": owner, "now": time.time()})

        def release() -> None:
            stop.set()
            self._fence = None
            _close_quietly(connection)
            try:
                with self.engine.begin() as connection_:
                    connection_.execute(locks.delete().where(*mine))
            except Exception:  # the lease expires by itself: never fail a stored run
                pass
        return release

    def run_gate(self) -> tuple[Any, int, float] | None:
        """How many async runs this engine's pool serves at once (stores/offload.py): each running run holds a
        connection for its writer lock and now and then needs a second one for a short read, so the pool's
        capacity (pool_size + max_overflow) less one; a run waits for a slot up to the pool's timeout."""
        pool = self.engine.pool
        size, overflow = getattr(pool, "size", None), getattr(pool, "_max_overflow", None)  # QueuePool's own bound
        if not callable(size) or not isinstance(overflow, int) or overflow < 0:
            return None  # a pool without a bound (NullPool, unlimited overflow): no gate
        timeout = pool.timeout() if callable(getattr(pool, "timeout", None)) else 30.0
        return pool, max(1, size() + overflow - 1), float(timeout)

    def _errors(self) -> Any:
        return _outage(self.session_id)


_HELD = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted "
         "AND objsubid = 1 AND classid::bigint = :high AND objid::bigint = :low")


def _lost(session_id: str) -> SessionLockLostError:
    return SessionLockLostError(
        f"Session {session_id!r}: this run lost its writer lock (the database restarted, the connection was "
        "killed, or the lease expired), so this step was not stored. Run the prompt again.")


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:
        pass


@contextmanager
def _outage(session_id: str) -> Iterator[None]:
    """Connection-level failures as SessionUnavailableError; values the database refuses as SessionError."""
    sa = _sa()
    try:
        yield
    except sa.exc.TimeoutError:  # the engine's connection pool: every connection in use
        raise SessionUnavailableError(f"No free database connection for session {session_id!r}: the engine's pool "
                                      "is exhausted (each running session holds one for its writer lock). Raise "
                                      "pool_size on your engine, or run fewer sessions at once.") from None
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise SessionUnavailableError(f"Cannot reach the database for session {session_id!r} "
                                      f"({type(exc.orig).__name__}); check that it runs and the URL. Nothing was "
                                      "stored by this call.") from None
    except sa.exc.DataError as exc:
        raise SessionError(f"The database refused a value for session {session_id!r} ({type(exc.orig).__name__}); "
                           "nothing was stored.") from None


class _Tables:
    def __init__(self, engine: Any) -> None:
        sa = _sa()
        metadata = sa.MetaData()
        self.messages = sa.Table(
            "agentsilex_messages", metadata,
            sa.Column("session_id", sa.String(255), primary_key=True),
            sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("data", sa.Text, nullable=False))  # TEXT, not JSONB: JSONB rejects escaped lone surrogates
        self.state = sa.Table(
            "agentsilex_state", metadata,
            sa.Column("session_id", sa.String(255), primary_key=True),
            sa.Column("key", sa.String(255), primary_key=True),
            sa.Column("value", sa.Text, nullable=False))
        self.revisions = sa.Table(
            "agentsilex_revisions", metadata,
            sa.Column("session_id", sa.String(255), primary_key=True),
            sa.Column("rev", sa.BigInteger, nullable=False))
        self.locks = sa.Table(
            "agentsilex_locks", metadata,
            sa.Column("session_id", sa.String(255), primary_key=True),
            sa.Column("owner", sa.String(64), nullable=False),
            sa.Column("expires_at", sa.Float, nullable=False))
        metadata.create_all(engine)


def _engine(url: str) -> Any:
    # One engine (and connection pool) per URL in a process, however many session objects use it.
    if url not in _engines:
        _engines[url] = _sa().create_engine(url, pool_pre_ping=True)
    return _engines[url]


def _sa() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise UserError("SQLAlchemySession needs SQLAlchemy: pip install -e '.[sql]' (adds psycopg for "
                        "PostgreSQL).") from None
    return sqlalchemy
