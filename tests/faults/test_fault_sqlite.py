"""SQLite faults: a deleted file (item 9), an empty path (9), disk full and bad UTF-8 (12), file modes and a
planted lock-folder link (13)."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner
from agentsilex.errors import SessionCorruptedError, SessionError, UserError
from agentsilex.stores import SQLiteSession
from agentsilex.testing import ScriptedModel


def test_a_deleted_database_file_is_detected(tmp_path, mode):
    path = tmp_path / "chat.db"
    session = SQLiteSession("s", path)
    run_in_mode(Runner(session), Agent(name="a", model=ScriptedModel(["one"])), "first", mode)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")
    with pytest.raises(SessionError, match="deleted or replaced"):
        run_in_mode(Runner(session), Agent(name="a", model=ScriptedModel(["two"])), "second", mode)
    with pytest.raises(SessionError, match="deleted or replaced"):
        session.add_new_messages({"role": "user", "content": "lost?"})
    with pytest.raises(SessionError, match="deleted or replaced"):
        session.get_dialogs()
    session.close()
    assert SQLiteSession("s", path).get_dialogs() == []  # reopened: a new, empty file


@pytest.mark.parametrize("path", ["", b"x.db", None])
def test_an_empty_or_wrong_path_is_refused(path):
    with pytest.raises(UserError, match="needs a file path"):
        SQLiteSession("s", path)


def test_files_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        session = SQLiteSession("s", tmp_path / "chat.db")
        Runner(session).run(Agent(name="a", model=ScriptedModel(["hi"])), "hello")
    finally:
        os.umask(old)
    for name in os.listdir(tmp_path):
        mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
        assert mode & 0o077 == 0, f"{name} is {oct(mode)}"
    for name in os.listdir(tmp_path / "chat.db-locks"):
        assert stat.S_IMODE(os.stat(tmp_path / "chat.db-locks" / name).st_mode) & 0o077 == 0


def test_a_planted_lock_folder_link_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, tmp_path / "chat.db-locks")
    session = SQLiteSession("s", tmp_path / "chat.db")
    with pytest.raises(SessionError, match="symbolic link"):
        Runner(session).run(Agent(name="a", model=ScriptedModel(["hi"])), "hello")
    assert os.listdir(elsewhere) == []


def test_disk_full_is_a_clear_session_error_and_stores_nothing(tmp_path):
    session = SQLiteSession("s", tmp_path / "chat.db")
    session.add_new_messages({"role": "user", "content": "before"})
    connection = session._db.connection
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(SessionError, match="disk holding .* is full") as caught:
        session.add_new_messages({"role": "user", "content": "x" * 200_000})
    assert "rollback" not in str(caught.value)
    connection.execute("PRAGMA max_page_count = 1073741823")
    assert session.get_dialogs() == [{"role": "user", "content": "before"}]


def test_a_row_that_is_not_utf8_is_named_without_the_conversation(tmp_path):
    session = SQLiteSession("s", tmp_path / "chat.db")
    session.add_new_messages([{"role": "user", "content": "my secret plans"}, {"role": "assistant", "content": "ok"}])
    session._db.connection.execute("UPDATE agentsilex_messages SET data = CAST(x'7b22726f6c65ff' AS TEXT) "
                                   "WHERE seq = 1")
    fresh = SQLiteSession("s", tmp_path / "chat.db")
    fresh._db.caches.clear()
    with pytest.raises(SessionCorruptedError) as caught:
        fresh.get_dialogs()
    assert caught.value.row == 1 and "secret" not in str(caught.value)
