"""`SQLiteSession`: the embedded default store. Standard-library sqlite3, WAL, one file holds many sessions.

    session = SQLiteSession("chat-42", "sessions.db")
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import SessionError, UserError
from . import codec
from .base import CLAIMS, DEFAULT_LOCK_TIMEOUT, PersistentSession, _Caches, _check_id
from .locking import busy, poll

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agentsilex_messages (
    session_id TEXT NOT NULL, seq INTEGER NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agentsilex_state (
    session_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (session_id, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agentsilex_revisions (
    session_id TEXT NOT NULL PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID;
"""

_BUMP = ("INSERT INTO agentsilex_revisions VALUES (?, 1) "
         "ON CONFLICT(session_id) DO UPDATE SET rev = rev + 1")


class _Database:
    """One connection per file and process, shared by every session object on it (guarded by a lock),
    with the loaded-messages cache (see PersistentSession._load), so a new session object starts warm."""

    _open: dict[tuple[int, str], _Database] = {}
    _open_lock = threading.Lock()

    @classmethod
    def get(cls, path: str) -> _Database:
        if path == ":memory:" or path.startswith("file:"):
            return cls(path)  # each in-memory database is its own
        key = (os.getpid(), os.path.realpath(path))  # a forked child must not reuse its parent's connection
        with cls._open_lock:
            if key not in cls._open:
                cls._open[key] = cls(path)
            return cls._open[key]

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.RLock()
        if os.path.isdir(path):
            raise SessionError(f"{path!r} is a folder, not a SQLite file: pass a file path in it, such as "
                               f"{os.path.join(path, 'sessions.db')!r}.")
        self.identity = _create_private(path)
        # Autocommit mode: every write below opens its own explicit transaction.
        self.connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            with _mapped(path):  # the first reads and writes: where a wrong, damaged or read-only file shows
                self.connection.execute("PRAGMA journal_mode=WAL")
                self.connection.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
                self.connection.executescript(_SCHEMA)
        except BaseException:
            self.connection.close()
            raise
        self.local_locks: dict[str, threading.Lock] = {}  # for ":memory:" databases, which have no file
        self.caches = _Caches()

    def check_file(self) -> None:
        """Refuse to go on when the file was deleted or replaced under us: writes would vanish silently."""
        if self.identity is None:
            return
        try:
            current = os.stat(self.path)
            same = (current.st_dev, current.st_ino) == self.identity
        except OSError:
            same = False
        if not same:
            raise SessionError(f"The SQLite file {self.path!r} was deleted or replaced while this process had it "
                               "open; nothing more is read from or written to the old one. Restore the file, or "
                               "close() the session and open it again.")

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.lock:
            self.check_file()
            with _mapped(self.path):
                return self.connection.execute(sql, params).fetchall()

    def write(self, steps: Callable[[sqlite3.Connection], None]) -> None:
        with self.lock:
            self.check_file()
            with _mapped(self.path):
                self.connection.execute("BEGIN IMMEDIATE")
                try:
                    steps(self.connection)
                except BaseException:
                    if self.connection.in_transaction:  # SQLite may have rolled back already (disk full)
                        self.connection.execute("ROLLBACK")
                    raise
                self.connection.execute("COMMIT")


class SQLiteSession(PersistentSession):
    """A session in a SQLite file (`":memory:"` works too, for one process)."""

    def __init__(self, session_id: str, path: str | os.PathLike = "agentsilex_sessions.db", *,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT, _database: _Database | None = None) -> None:
        self.session_id = _check_id(session_id)
        self.lock_timeout = lock_timeout
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise UserError(f"SQLiteSession needs a file path (or ':memory:'), got {path!r}; an empty path would "
                            "be a temporary database that vanishes.")
        self._db = _database or _Database.get(os.fspath(path))

    def close(self) -> None:
        """Close the file's connection, for every session object in this process that uses the file."""
        with _Database._open_lock:
            for key, database in list(_Database._open.items()):
                if database is self._db:
                    del _Database._open[key]
        self._db.connection.close()

    def _caches(self) -> tuple[Any, _Caches]:
        return self._db.lock, self._db.caches

    def _read_since(self, rev: int | None, after: int) -> tuple[int, int, list[dict], int]:
        with self._db.lock, _mapped(self._db.path):
            self._db.check_file()
            connection = self._db.connection
            connection.execute("BEGIN")  # one snapshot for the revision and the rows
            try:
                current = self._revision(connection)
                after = after if current == rev else -1
                messages, last = self._read_after(connection, after)
            finally:
                connection.execute("COMMIT")
        return current, after, messages, last

    def _revision(self, connection: sqlite3.Connection) -> int:
        row = connection.execute("SELECT rev FROM agentsilex_revisions WHERE session_id = ?",
                                 (self.session_id,)).fetchone()
        return row[0] if row else 0

    def _read_after(self, connection: sqlite3.Connection, after: int) -> tuple[list[dict], int]:
        # One row back: the messages joined in order, with what _decode_fast needs to check them.
        where = "session_id = ? AND seq > ?"
        # Row by row as bytes: a row that is not UTF-8 is named, and its text never lands in an error message.
        rows = lambda: connection.execute(  # noqa: E731
            f"SELECT seq, version, CAST(data AS BLOB) FROM agentsilex_messages WHERE {where} ORDER BY seq",
            (self.session_id, after)).fetchall()
        try:
            joined, count, low, high, last = connection.execute(
                "SELECT group_concat(data, ','), count(*), min(version), max(version), max(seq) "
                f"FROM (SELECT data, version, seq FROM agentsilex_messages WHERE {where} ORDER BY seq)",
                (self.session_id, after)).fetchone()
        except sqlite3.OperationalError:  # "Could not decode to UTF-8 ... with text <the conversation>"
            found = rows()
            return self._decode_rows(found), found[-1][0] if found else -1
        ok = low == high == codec.SCHEMA_VERSION
        messages = self._decode_fast(joined, count, ok, rows)
        return messages, -1 if last is None else last

    def _count(self) -> int:
        return self._db.read("SELECT count(*) FROM agentsilex_messages WHERE session_id = ?", (self.session_id,))[0][0]

    def _append(self, texts: list[str]) -> None:
        def steps(connection: sqlite3.Connection) -> None:
            last = connection.execute("SELECT max(seq) FROM agentsilex_messages WHERE session_id = ?",
                                      (self.session_id,)).fetchone()[0]
            start = -1 if last is None else last
            connection.executemany("INSERT INTO agentsilex_messages VALUES (?, ?, ?, ?)",
                                   [(self.session_id, start + 1 + i, codec.SCHEMA_VERSION, text)
                                    for i, text in enumerate(texts)])
        self._db.write(steps)

    def _truncate(self, keep: int) -> None:
        def steps(connection: sqlite3.Connection) -> None:
            row = connection.execute("SELECT seq FROM agentsilex_messages WHERE session_id = ? ORDER BY seq "
                                     "LIMIT 1 OFFSET ?", (self.session_id, keep)).fetchone()
            if row is not None:
                connection.execute("DELETE FROM agentsilex_messages WHERE session_id = ? AND seq >= ?",
                                   (self.session_id, row[0]))
                connection.execute(_BUMP, (self.session_id,))
        self._db.write(steps)

    def _replace(self, texts: list[str]) -> None:
        def steps(connection: sqlite3.Connection) -> None:
            connection.execute("DELETE FROM agentsilex_messages WHERE session_id = ?", (self.session_id,))
            connection.execute(_BUMP, (self.session_id,))
            connection.executemany("INSERT INTO agentsilex_messages VALUES (?, ?, ?, ?)",
                                   [(self.session_id, i, codec.SCHEMA_VERSION, text) for i, text in enumerate(texts)])
        self._db.write(steps)

    def _clear(self) -> None:
        def steps(connection: sqlite3.Connection) -> None:
            connection.execute("DELETE FROM agentsilex_messages WHERE session_id = ?", (self.session_id,))
            connection.execute("DELETE FROM agentsilex_state WHERE session_id = ?", (self.session_id,))
            connection.execute(_BUMP, (self.session_id,))  # never reset: a stale cache must not match again
        self._db.write(steps)

    def _ids(self) -> list[str]:
        rows = self._db.read("SELECT session_id FROM agentsilex_messages UNION SELECT session_id FROM agentsilex_state")
        return [row[0] for row in rows]

    def _sibling(self, session_id: str) -> SQLiteSession:
        return SQLiteSession(session_id, self._db.path, lock_timeout=self.lock_timeout, _database=self._db)

    def _get_state(self, key: str) -> str | None:
        rows = self._db.read("SELECT value FROM agentsilex_state WHERE session_id = ? AND key = ?",
                             (self.session_id, key))
        return rows[0][0] if rows else None

    def _set_state(self, key: str, text: str | None) -> None:
        def steps(connection: sqlite3.Connection) -> None:
            connection.execute("DELETE FROM agentsilex_state WHERE session_id = ? AND key = ?", (self.session_id, key))
            if text is not None:
                connection.execute("INSERT INTO agentsilex_state VALUES (?, ?, ?)", (self.session_id, key, text))
        self._db.write(steps)

    def _state_items(self) -> list[tuple[str, Any]]:
        rows = self._db.read("SELECT key FROM agentsilex_state WHERE session_id = ?", (self.session_id,))
        return [(key, self.get_state(key)) for (key,) in rows]

    def _claim(self, token: str) -> bool:
        try:
            self._db.write(lambda connection: connection.execute("INSERT INTO agentsilex_state VALUES (?, ?, '1')",
                                                                 (CLAIMS, token)))
        except sqlite3.IntegrityError:
            return False
        return True

    def _acquire(self, timeout: float) -> Callable[[], None]:
        if self._db.path == ":memory:" or self._db.path.startswith("file::memory:"):
            lock = self._db.local_locks.setdefault(self.session_id, threading.Lock())
            if not lock.acquire(timeout=timeout):
                raise busy(self.session_id, timeout)
            return lock.release
        return _file_lock(self._db.path, self.session_id, timeout)


def _create_private(path: str) -> tuple[int, int] | None:
    """Create the file readable by its owner only (0600: it holds conversations); return its identity."""
    if path == ":memory:" or path.startswith("file:"):
        return None
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise SessionError(f"Cannot create the SQLite file {path!r}: {exc.strerror}. Check the folder exists and "
                           "is writable.") from None
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


@contextmanager
def _mapped(path: str) -> Iterator[None]:
    """SQLite's errors as SessionErrors that say what to do (never with stored text in them)."""
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorname", "")
        if code == "SQLITE_FULL" or "full" in str(exc):
            raise SessionError(f"The disk holding {path!r} is full; nothing of this write was stored. Free some "
                               "space and run again.") from None
        advice = next((text for prefix, text in _ADVICE.items() if code.startswith(prefix)), None)
        if advice is not None:
            raise SessionError(f"The SQLite file {path!r} {advice} ({code}).") from None
        raise


_ADVICE = {  # what an unusable file means, by SQLite's error code (a prefix: SQLITE_READONLY_DIRECTORY, ...)
    "SQLITE_NOTADB": "is not a SQLite database (some other file?): pass another path, or move that file away",
    "SQLITE_CORRUPT": "is damaged (truncated or overwritten): restore it from a backup, or move it away and start "
                      "a new one",
    "SQLITE_READONLY": "cannot be written: it or its folder is read-only (SQLite also writes -wal and -shm files "
                       "beside it); make both writable",
    "SQLITE_CANTOPEN": "cannot be opened: check that it and its folder exist and are writable (SQLite also writes "
                       "-wal and -shm files beside it)",
    "SQLITE_IOERR": "could not be read or written (an I/O error): check the disk and the file",
}


def _file_lock(db_path: str, session_id: str, timeout: float) -> Callable[[], None]:
    """An exclusive flock on a per-session file beside the database.

    flock belongs to the open file, so two threads (each opening the file) exclude each other as two
    processes do, and the kernel drops the lock when a process dies, even by SIGKILL.
    """
    folder = Path(db_path + "-locks")
    if not folder.is_symlink():
        folder.mkdir(mode=0o700, exist_ok=True)
    if folder.is_symlink() or not folder.is_dir():  # a planted link would send our lock files elsewhere
        raise SessionError(f"The lock folder {str(folder)!r} is a symbolic link or not a folder; refusing to use "
                           "it. Remove it (agentsilex creates it again).")
    name = hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    descriptor = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    handle = os.fdopen(descriptor, "a+")

    def try_once() -> bool:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    try:
        poll(try_once, timeout, session_id)
    except BaseException:
        handle.close()
        raise

    def release() -> None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
    return release
