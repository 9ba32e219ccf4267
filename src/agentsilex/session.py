"""`Session`: conversation memory as a plain list of OpenAI-format messages. Deliberately simple."""

from __future__ import annotations

from typing import Any

from .validation import check_messages


class Session:
    """In-memory conversation history. `dialogs` is a plain list you may read, copy or replace."""

    def __init__(self, dialogs: list[dict] | None = None) -> None:
        self.dialogs: list[dict] = list(dialogs or [])

    def get_dialogs(self) -> list[dict]:
        """The whole history, oldest first (what the Runner sends to the model after the system prompt)."""
        return self.dialogs

    def add_new_messages(self, messages: dict | list[dict]) -> None:
        """Append one message or a list of messages (each checked first: a bad one adds nothing)."""
        self.dialogs.extend(check_messages([messages] if isinstance(messages, dict) else list(messages)))

    def pop_turn(self) -> list[dict]:
        """Remove the last turn -- the last user message and everything after it -- and return it."""
        start = last_turn_start(self.dialogs)
        if start is None:
            return []
        turn = self.dialogs[start:]
        del self.dialogs[start:]
        return turn

    def clean(self) -> None:
        """Forget everything."""
        self.dialogs = []

    def __len__(self) -> int:
        return len(self.dialogs)

    def __repr__(self) -> str:
        return f"Session({len(self.dialogs)} messages)"


def last_turn_start(dialogs: list[Any]) -> int | None:
    """Index of the last user message, or None if there is none."""
    for index in range(len(dialogs) - 1, -1, -1):
        if dialogs[index].get("role") == "user":
            return index
    return None
