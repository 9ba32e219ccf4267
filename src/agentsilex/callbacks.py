"""Callbacks for `Runner(before_llm_call_callbacks=[...])`: each receives the session before a model call.

These edit the stored history itself (the seed's way). To change only what is sent, and keep the stored
history whole, use a memory strategy instead: `Runner(session, memory=[KeepLastTurns(2)])` (memory.py).
"""

from __future__ import annotations

from typing import Any

from .turns import keep_last_turns


def keep_most_recent_turns(session: Any, turns: int) -> None:
    """Drop all but the last `turns` turns from the session, never splitting a tool call from its result.

    A turn starts at a user message and holds every tool call and result after it, so cutting at turn starts
    keeps each call with its result. Works on every store: a store's `dialogs` setter replaces its history.
    """
    history = session.get_dialogs()
    kept = keep_last_turns(history, turns)
    if len(kept) != len(history):
        session.dialogs = kept


def keep_most_recent_2_turns(session: Any) -> None:
    """Keep the last two turns (agentsilex 1.0 name; this version never orphans a tool result)."""
    keep_most_recent_turns(session, 2)
