"""Session: exactly the seed's API, plus a working pop_turn."""

from agentsilex import Session
from agentsilex.callbacks import keep_most_recent_2_turns
from history import assert_valid_history

TURN_1 = [
    {"role": "user", "content": "What's the weather in Tokyo?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Tokyo"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "72°F, sunny"},
    {"role": "assistant", "content": "The weather in Tokyo is 72°F and sunny!"},
]
TURN_2 = [{"role": "user", "content": "How about Osaka?"}, {"role": "assistant", "content": "68°F, cloudy."}]


def test_add_one_message_or_a_list():
    session = Session()
    session.add_new_messages({"role": "user", "content": "hi"})
    session.add_new_messages([{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}])
    assert [m["content"] for m in session.get_dialogs()] == ["hi", "a", "b"]
    assert session.get_dialogs() is session.dialogs and isinstance(session.dialogs, list)


def test_pop_turn_removes_and_returns_the_last_turn():
    session = Session()
    session.add_new_messages(TURN_1 + TURN_2)
    assert session.pop_turn() == TURN_2
    assert session.dialogs == TURN_1
    assert session.pop_turn() == TURN_1
    assert session.dialogs == [] and session.pop_turn() == []


def test_pop_turn_with_no_user_message_removes_nothing():
    session = Session([{"role": "assistant", "content": "hello"}])
    assert session.pop_turn() == [] and len(session) == 1


def test_clean_starts_fresh():
    session = Session()
    session.add_new_messages(TURN_1)
    session.clean()
    assert session.dialogs == [] and session.get_dialogs() == []


def test_keep_most_recent_2_turns_never_orphans_a_tool_result():
    session = Session()
    session.add_new_messages(TURN_1 + TURN_2 + TURN_1)
    keep_most_recent_2_turns(session)
    assert session.dialogs == TURN_2 + TURN_1
    assert_valid_history(session.dialogs)
    keep_most_recent_2_turns(session)
    assert session.dialogs == TURN_2 + TURN_1
