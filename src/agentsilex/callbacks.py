"""Callbacks for `Runner(before_llm_call_callbacks=[...])`: each receives the session before a model call."""

from __future__ import annotations

from typing import Any


def keep_most_recent_turns(session: Any, turns: int) -> None:
    """Drop all but the last `turns` turns from the session, never splitting a tool call from its result.

    A turn starts at a user message, so cutting there always keeps assistant tool calls with their results.
    """
    starts = [i for i, message in enumerate(session.dialogs) if message.get("role") == "user"]
    if len(starts) > turns:
        session.dialogs = session.dialogs[starts[-turns]:]


def keep_most_recent_2_turns(session: Any) -> None:
    """Keep the last two turns (agentsilex 1.0 name; this version never orphans a tool result)."""
    keep_most_recent_turns(session, 2)
