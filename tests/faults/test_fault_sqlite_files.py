"""Issue 21 (point 7): a SQLite path that cannot hold sessions -- a folder, another kind of file, a truncated or
damaged database, a read-only folder -- is a one-line `SessionError` saying what to do, never a raw sqlite3 error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner
from agentsilex.errors import SessionError
from agentsilex.stores import SQLiteSession
from agentsilex.testing import ScriptedModel


def _database(path, messages: int = 200) -> None:
    session = SQLiteSession("s", path)
    session.add_new_messages([{"role": "user", "content": f"message {i} " + "x" * 2000} for i in range(messages)])
    session.close()


def _refused(path, match: str) -> SessionError:
    with pytest.raises(SessionError, match=match) as caught:
        SQLiteSession("s", path).get_dialogs()
    assert "\n" not in str(caught.value)
    return caught.value


def test_a_folder_is_refused_with_the_path_to_use(tmp_path):
    error = _refused(tmp_path, "is a folder, not a SQLite file")
    assert os.path.join(str(tmp_path), "sessions.db") in str(error)


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    (tmp_path / "notes.db").write_text("these are my notes, not a database " * 20)
    _refused(tmp_path / "notes.db", r"is not a SQLite database .*SQLITE_NOTADB")
    assert (tmp_path / "notes.db").read_text().startswith("these are my notes")  # left as it was


@pytest.mark.parametrize("keep", [50, 4096, 0.4])
def test_a_truncated_database_is_refused(tmp_path, keep):
    _database(tmp_path / "chat.db")
    data = (tmp_path / "chat.db").read_bytes()
    (tmp_path / "chat.db").write_bytes(data[:int(len(data) * keep) if isinstance(keep, float) else keep])
    _refused(tmp_path / "chat.db", r"is damaged \(truncated or overwritten\)")


def test_a_database_damaged_under_a_running_process_is_a_session_error(tmp_path, mode):
    path = tmp_path / "chat.db"
    _database(path)
    session = SQLiteSession("s", path)
    session.get_dialogs()
    with open(path, "r+b") as handle:  # same file, same inode: its pages overwritten with zeros
        handle.seek(4096)
        handle.write(b"\0" * (os.path.getsize(path) - 4096))
    shared = SQLiteSession("s", path)._db
    shared.caches.clear()  # what another process would read: neither agentsilex's caches nor SQLite's page cache
    shared.connection.execute("PRAGMA shrink_memory")  # (a plain run may touch only pages SQLite still holds)
    with pytest.raises(SessionError, match=r"is damaged|is not a SQLite database"):
        run_in_mode(Runner(session), Agent(name="a", model=ScriptedModel(["hi"])), "hello", mode)
    session.close()


READ_ONLY = textwrap.dedent("""
    import os, sys, tempfile
    from agentsilex.errors import SessionError
    from agentsilex.stores import SQLiteSession
    with tempfile.TemporaryDirectory() as warm:  # load every module while still allowed to read them
        SQLiteSession("w", os.path.join(warm, "w.db")).get_dialogs()
    if os.getuid() == 0:  # root writes anywhere: become nobody to meet a read-only folder
        os.setgid(65534)
        os.setuid(65534)
    try:
        SQLiteSession("s", sys.argv[1]).get_dialogs()
    except SessionError as error:
        print("SessionError:", error)
""")


def test_a_read_only_folder_is_refused(tmp_path):
    folder = tempfile.mkdtemp(prefix="agentsilex-ro-")  # under /tmp: reachable by the unprivileged user
    try:
        _database(os.path.join(folder, "chat.db"), messages=1)
        for name in os.listdir(folder):  # only the database: its -wal, -shm and locks must be created anew
            other = os.path.join(folder, name)
            if name != "chat.db":
                shutil.rmtree(other) if os.path.isdir(other) else os.remove(other)
        os.chmod(os.path.join(folder, "chat.db"), 0o644)
        os.chmod(folder, 0o555)
        done = subprocess.run([sys.executable, "-c", READ_ONLY, os.path.join(folder, "chat.db")],
                              capture_output=True, text=True, timeout=60)
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "SessionError:" in done.stdout and "read-only" in done.stdout, done.stdout
