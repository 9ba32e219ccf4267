"""Test helper: is a history valid for strict providers?"""

from __future__ import annotations

import json


def assert_valid_history(dialogs: list[dict]) -> None:
    """Every assistant tool call is answered by exactly one tool message right after it; no orphans;
    every message is plain JSON."""
    json.dumps(dialogs)  # plain JSON-safe data only
    pending: list[str] = []
    for index, message in enumerate(dialogs):
        role = message["role"]
        if role == "tool":
            assert message["tool_call_id"] in pending, f"orphan tool result at {index}: {message}"
            pending.remove(message["tool_call_id"])
            continue
        assert not pending, f"tool calls {pending} unanswered before message {index}"
        assert role in ("user", "assistant", "system"), role
        if role == "assistant":
            ids = [call["id"] for call in message.get("tool_calls") or []]
            assert len(ids) == len(set(ids))
            pending = ids
    assert not pending, f"tool calls {pending} unanswered at the end"
