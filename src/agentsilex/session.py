"""`Session`: conversation memory as a plain list of OpenAI-format messages. Deliberately simple."""

from __future__ import annotations

import json
from typing import Any


class Session:
    """In-memory conversation history. `dialogs` is a plain list you may read, copy or replace."""

    def __init__(self, dialogs: list[dict] | None = None) -> None:
        self.dialogs: list[dict] = list(dialogs or [])
        self.state: dict[str, Any] = {}  # JSON values kept with the conversation (next agent, usage, ...)

    def get_dialogs(self) -> list[dict]:
        """The whole history, oldest first (what the Runner sends to the model after the system prompt)."""
        return self.dialogs

    def add_new_messages(self, messages: dict | list[dict]) -> None:
        """Append one message or a list of messages."""
        self.dialogs.extend([messages] if isinstance(messages, dict) else messages)

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
        self.state = {}

    def get_state(self, key: str) -> Any:
        """A JSON value kept with the session under `key`, or None (the same contract as every store)."""
        return json.loads(self.state[key]) if key in self.state else None

    def set_state(self, key: str, value: Any) -> None:
        """Keep a JSON value with the session (as JSON text, as a store does); None deletes it."""
        self.state.pop(key, None) if value is None else self.state.update({key: json.dumps(value)})

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
