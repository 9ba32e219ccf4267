"""Where a history may be cut: turns and blocks.

A *turn* starts at a user message and runs to the next one. Cutting a history only at turn starts can never
separate an assistant's tool calls from their results, because both always sit inside one turn. A *block* is an
assistant message with the tool results that follow it, or one message.
"""

from __future__ import annotations

from .messages import tool_call_ids


def turn_starts(messages: list[dict]) -> list[int]:
    """Indexes of the user messages, oldest first."""
    return [index for index, message in enumerate(messages) if message.get("role") == "user"]


def keep_last_turns(messages: list[dict], turns: int) -> list[dict]:
    """The last `turns` turns (everything from the `turns`-th last user message on)."""
    starts = turn_starts(messages)
    if turns <= 0:
        return []
    return messages[starts[-turns]:] if len(starts) > turns else list(messages)


def blocks(messages: list[dict]) -> list[list[dict]]:
    """Split into indivisible blocks: an assistant message with the tool results that follow it, or one message."""
    result: list[list[dict]] = []
    for message in messages:
        if message.get("role") == "tool" and result and _answers(result[-1], message):
            result[-1].append(message)
        else:
            result.append([message])
    return result


def _answers(block: list[dict], message: dict) -> bool:
    return message.get("tool_call_id") in tool_call_ids(block[0])


def last_turn_start(dialogs: list) -> int | None:
    """Index of the last user message, or None if there is none."""
    for index in range(len(dialogs) - 1, -1, -1):
        if dialogs[index].get("role") == "user":
            return index
    return None
