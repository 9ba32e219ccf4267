"""One contract suite, run over every session store on its real backend."""

from __future__ import annotations

import pytest
from session_stores import (PERSISTENT, corrupt_row, history, kind, separate_handle, store_factory,  # noqa: F401
                            tool_turn)

from agentsilex import Agent, Runner, tool
from agentsilex.errors import SessionCorruptedError, UserError
from agentsilex.history import pairs_intact
from agentsilex.stores import SessionStore
from agentsilex.testing import ScriptedModel, call


def test_store_satisfies_protocol_and_starts_empty(store_factory):
    store = store_factory("s1")
    assert isinstance(store, SessionStore)
    assert store.get_dialogs() == [] and store.dialogs == [] and len(store) == 0


def test_add_one_or_many_messages_in_order(store_factory):
    store = store_factory("s1")
    store.add_new_messages({"role": "user", "content": "hi"})
    store.add_new_messages(tool_turn(1)[1:])
    assert store.get_dialogs() == [{"role": "user", "content": "hi"}] + tool_turn(1)[1:]
    assert store.dialogs == store.get_dialogs() and len(store) == 5


def test_pop_turn_removes_last_turn_whole(store_factory):
    store = store_factory("s1")
    store.add_new_messages(history(3))
    assert store.pop_turn() == tool_turn(2)
    assert store.get_dialogs() == history(2) and pairs_intact(store.get_dialogs())
    store.clean()
    assert store.get_dialogs() == [] and store.pop_turn() == []


def test_runner_writes_whole_steps_to_store(store_factory):
    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    store = store_factory("s1")
    agent = Agent(name="a", model=ScriptedModel([call("add", a=1, b=2), "3", "again"]), tools=[add])
    Runner(store).run(agent, "1+2?")
    Runner(store).run(agent, "more")
    assert [m["role"] for m in store.get_dialogs()] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert agent.model.requests[-1].messages == store.get_dialogs()[:-1]  # the model saw the whole history


@pytest.mark.parametrize("kind", PERSISTENT)
def test_history_outlives_the_object(store_factory, kind):
    store_factory("s1").add_new_messages(history(2))
    assert store_factory("s1").get_dialogs() == history(2)
    assert separate_handle(store_factory("s1")).get_dialogs() == history(2)
    assert store_factory("other").get_dialogs() == []


UNICODE = ["emoji 🦜🧑‍🚀👍🏽", "RTL שלום مرحبا", "CJK 漢字かなカナ한글", "combining é vs é", "NUL \x00 and \x1f",
           "lone surrogates \ud800 \udfff \udc80", "BOM \ufeff ZWJ \u200d", "line\u2028sep", "astral 𝔘𝔫𝔦"]


@pytest.mark.parametrize("kind", PERSISTENT)
def test_unicode_of_every_kind_round_trips(store_factory, kind):
    messages = [{"role": "user", "content": text} for text in UNICODE]
    messages.append({"role": "assistant", "content": None, "tool_calls": [
        {"id": "c\ud83d", "type": "function", "function": {"name": "f", "arguments": '{"s": "\\ud800🦜"}'}}]})
    messages.append({"role": "tool", "tool_call_id": "c\ud83d", "content": "out \udcff\x00 🦜"})
    store_factory("s1").add_new_messages(messages)
    assert store_factory("s1").get_dialogs() == messages
    store_factory("s1").set_state("note", {"text": "\ud800 🦜"})
    assert store_factory("s1").get_state("note") == {"text": "\ud800 🦜"}


@pytest.mark.parametrize("kind", PERSISTENT)
def test_non_json_message_is_refused_and_nothing_is_stored(store_factory, kind):
    store = store_factory("s1")
    with pytest.raises(UserError, match="not plain JSON"):
        store.add_new_messages([{"role": "user", "content": "ok"}, {"role": "user", "content": [object()]}])
    with pytest.raises(UserError, match="not a dict"):
        store.add_new_messages(["just text"])
    assert store.get_dialogs() == []


@pytest.mark.parametrize("kind", PERSISTENT)
@pytest.mark.parametrize("data,version,why", [
    ('{"role": "user", "content": "cut off', 1, "not valid JSON"),
    ('["a", "list"]', 1, "not a message dict"),
    ('{"content": "no role"}', 1, "not a message dict"),
    ('{"role": "user", "content": "from the future"}', 99, "schema version 99"),
])
def test_corrupted_row_raises_naming_session_and_row(store_factory, kind, data, version, why):
    store = store_factory("chat-7")
    store.add_new_messages(history(1))
    corrupt_row(store, kind, 2, data, version)
    with pytest.raises(SessionCorruptedError, match=why) as caught:
        store.get_dialogs()
    assert caught.value.session_id == "chat-7" and caught.value.row == 2
    assert "'chat-7'" in str(caught.value) and "row 2" in str(caught.value)


@pytest.mark.parametrize("kind", PERSISTENT)
def test_rewind_drops_whole_turns(store_factory, kind):
    store = store_factory("s1")
    store.add_new_messages(history(5))
    assert store.rewind(0) == []
    assert store.rewind(2) == tool_turn(3) + tool_turn(4)
    assert store.get_dialogs() == history(3) and pairs_intact(store.get_dialogs())
    assert store.rewind(10) == history(3) and store.get_dialogs() == []
    with pytest.raises(UserError):
        store.rewind(-1)


@pytest.mark.parametrize("kind", PERSISTENT)
def test_fork_copies_history_and_state_then_diverges(store_factory, kind):
    store = store_factory("main")
    store.add_new_messages(history(2))
    store.set_state("compaction", {"covered": 1})
    branch = store.fork("branch")
    assert type(branch) is type(store) and branch.session_id == "branch"
    assert branch.get_dialogs() == history(2) and branch.get_state("compaction") == {"covered": 1}
    branch.add_new_messages(tool_turn(9))
    assert store.get_dialogs() == history(2) and pairs_intact(branch.get_dialogs())
    with pytest.raises(UserError, match="already has messages"):
        store.fork("branch")


@pytest.mark.parametrize("kind", PERSISTENT)
def test_list_and_delete_sessions(store_factory, kind):
    a, b = store_factory("a"), store_factory("b")
    a.add_new_messages(history(1))
    b.set_state("k", 1)
    assert a.list_sessions() == ["a", "b"]
    a.delete_session("b")
    assert a.list_sessions() == ["a"] and store_factory("b").get_state("k") is None
    a.delete_session()
    assert a.list_sessions() == [] and a.get_dialogs() == []


@pytest.mark.parametrize("kind", PERSISTENT)
def test_dialogs_setter_replaces_history_and_state_round_trips(store_factory, kind):
    store = store_factory("s1")
    store.add_new_messages(history(3))
    store.dialogs = tool_turn(7)
    assert store.get_dialogs() == tool_turn(7)
    store.set_state("x", [1, "two"])
    assert store.get_state("x") == [1, "two"]
    store.set_state("x", None)
    assert store.get_state("x") is None


@pytest.mark.parametrize("kind", PERSISTENT)
def test_every_edit_keeps_pairs_intact(store_factory, kind):
    """Random edits on a history of tool turns: after each, every call still has its result and vice versa."""
    import random

    rng = random.Random(4)
    store, expected = store_factory("s1"), []  # expected: the turns the store should hold, as lists
    for step in range(30):
        operation = rng.choice(["add", "add", "pop", "rewind", "fork"])
        if operation == "add":
            expected.append(tool_turn(step, calls=rng.randint(1, 3)))
            store.add_new_messages(expected[-1])
        elif operation == "pop":
            assert store.pop_turn() == (expected.pop() if expected else [])
        elif operation == "rewind":
            n = rng.randint(1, 3)
            removed = [m for turn in expected[len(expected) - n:] for m in turn] if n <= len(expected) else \
                [m for turn in expected for m in turn]
            del expected[max(0, len(expected) - n):]
            assert store.rewind(n) == removed
        else:
            store = store.fork(f"fork{step}")
        messages = store.get_dialogs()
        assert pairs_intact(messages), (operation, messages)
        assert messages == [m for turn in expected for m in turn]


def test_bad_session_ids_are_refused(tmp_path):
    from agentsilex.stores import SQLiteSession

    for bad in ["", 7, "a\nb", "\ud800"]:
        with pytest.raises(UserError, match="session id"):
            SQLiteSession(bad, tmp_path / "x.db")


@pytest.mark.parametrize("kind", PERSISTENT)
def test_loads_see_every_change_made_through_another_handle(store_factory, kind):
    """Each handle reads only rows appended since its last load; rewrites elsewhere must still show."""
    reader = store_factory("s1")
    writer = separate_handle(reader)
    writer.add_new_messages(history(2))
    assert reader.get_dialogs() == history(2)
    writer.add_new_messages(tool_turn(5))
    assert reader.get_dialogs() == history(2) + tool_turn(5)  # an append: read incrementally
    writer.pop_turn()
    writer.add_new_messages(tool_turn(6))  # same length as before, different content
    assert reader.get_dialogs() == history(2) + tool_turn(6)
    writer.dialogs = tool_turn(7)
    assert reader.get_dialogs() == tool_turn(7)
    writer.clean()
    assert reader.get_dialogs() == []
    writer.add_new_messages(tool_turn(8))
    assert reader.get_dialogs() == tool_turn(8) and reader.rewind(1) == tool_turn(8)
    assert writer.get_dialogs() == [] and reader.get_dialogs() == []
    loaded = reader.get_dialogs()
    loaded.append({"role": "user", "content": "local only"})  # the returned list is the caller's own
    assert reader.get_dialogs() == []


@pytest.mark.parametrize("kind", PERSISTENT)
def test_concurrent_appends_and_loads_never_duplicate_or_lose_messages(store_factory, kind):
    import threading

    handles = [store_factory("s1") for _ in range(4)]

    def work(index: int) -> None:
        for n in range(10):
            handles[index].add_new_messages(tool_turn(index * 100 + n, calls=1))
            handles[(index + 1) % 4].get_dialogs()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    for handle in handles + [separate_handle(handles[0])]:
        messages = handle.get_dialogs()
        assert len(messages) == 4 * 10 * 4 and pairs_intact(messages)
        assert sorted(m["content"] for m in messages if m["role"] == "user") == \
            sorted(f"question {i * 100 + n}" for i in range(4) for n in range(10))


def test_sqlite_sessions_share_a_bounded_cache_per_file(tmp_path):
    from agentsilex.stores import SQLiteSession

    first = SQLiteSession("a", tmp_path / "s.db")
    assert SQLiteSession("b", str(tmp_path / "s.db"))._db is first._db  # one connection per file and process
    for n in range(70):
        first._sibling(f"s{n}").add_new_messages(tool_turn(n))
        first._sibling(f"s{n}").get_dialogs()
    assert len(first._db.caches) == 64 and "s0" not in first._db.caches and "s69" in first._db.caches
    assert first._sibling("s0").get_dialogs() == tool_turn(0)  # evicted: simply read again


def test_images_and_reasoning_round_trip(store_factory, kind, monkeypatch):
    """A run with an image prompt, a tool returning an image and a reasoning model, stored and read back whole."""
    from agentsilex import Image, content

    @tool
    def snapshot() -> list:
        """A picture."""
        return ["here", Image.from_bytes(b"\x89PNG" + bytes(range(256)) * 40)]

    thinking = {"reasoning_content": "look first", "thinking_blocks": [
        {"type": "thinking", "thinking": "look first", "signature": "sig\u00e9=="}]}
    model = ScriptedModel([{"content": None, **thinking, "tool_calls": [
        {"id": "s1", "type": "function", "function": {"name": "snapshot", "arguments": "{}"}}]}, "a cat"],
        name="anthropic/claude-test")
    store = store_factory("pics")
    Runner(store).run(Agent(name="a", model=model, tools=[snapshot]), ["what is it?", Image.from_bytes(b"\xff\xd8jpg")])
    written = store.get_dialogs()
    assert [m["role"] for m in written] == ["user", "assistant", "tool", "user", "assistant"]
    assert written[1]["thinking_blocks"] == thinking["thinking_blocks"]
    assert written[3]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert pairs_intact(written) and model.requests[1].messages[1]["thinking_blocks"] == thinking["thinking_blocks"]
    if kind in PERSISTENT:
        assert store_factory("pics").get_dialogs() == written
        assert separate_handle(store_factory("pics")).get_dialogs() == written
        monkeypatch.setattr(content, "MAX_INLINE_BYTES", 100)  # the size guard holds in every store
        with pytest.raises(UserError, match="MAX_INLINE_BYTES"):
            store_factory("pics").add_new_messages([{"role": "user", "content": written[3]["content"]}])
        assert store_factory("pics").get_dialogs() == written
