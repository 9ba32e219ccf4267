"""Pure functions over a message list: tool-call pairs, and the repair run before each model call (where a
history may be cut, by turns and blocks, is in turns.py)."""

from __future__ import annotations

from typing import Any

from ._lazy import lazy_names
from .messages import INTERRUPTED, tool_call_ids, tool_result


def pairs_intact(messages: list[dict]) -> bool:
    """True when every tool call is answered exactly once, right after its call, and no result is orphaned."""
    return history_problem(messages) is None


def repair_history(messages: list[dict]) -> list[dict]:
    """A valid history for strict providers; healthy history comes back equal, and repair(repair(x)) == repair(x).

    - every tool call gets exactly one result, placed right after its assistant message; a call with no
      result (a crash mid-tool) gets a marked INTERRUPTED result;
    - tool results that answer no call of the assistant message just before them, and duplicates, are dropped;
    - an assistant message with no content and no tool calls gets content "" (null content is rejected);
      an empty `tool_calls` list is removed.
    The messages themselves are not modified; changed ones are copies.
    """
    if history_problem(messages) is None:  # the common case, checked in one tight pass
        return messages
    repaired: list[dict] = []
    index = 0
    while index < len(messages):
        message = messages[index]
        index += 1
        if message.get("role") == "tool":
            continue  # a result not directly after its call's block: orphan
        if message.get("role") != "assistant":
            repaired.append(message)
            continue
        message = _fix_assistant(message)
        repaired.append(message)
        ids = list(dict.fromkeys(tool_call_ids(message)))  # a call id repeated by a model is answered once
        answered: set[str] = set()
        while index < len(messages) and messages[index].get("role") == "tool":
            result = messages[index]
            index += 1
            if result.get("tool_call_id") in ids and result["tool_call_id"] not in answered:
                answered.add(result["tool_call_id"])
                repaired.append(result)  # results keep their order: any order is valid
        repaired.extend(tool_result(call_id, INTERRUPTED) for call_id in ids if call_id not in answered)
    return repaired if repaired != messages else messages


def history_problem(messages: list[dict]) -> str | None:
    """The first thing strict providers would reject, or None for a valid history.

    The one validator (the loop, the stores and the tests all use it), with exactly the rules
    `repair_history` enforces: valid means repair changes nothing.
    """
    pending: set | None = None  # call ids still waiting for their result
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not pending or call_id not in pending:
                return f"message {index}: tool result {call_id!r} answers no open tool call"
            pending.discard(call_id)
            continue
        if pending:
            return f"message {index}: tool calls {sorted(pending)} are not answered before it"
        if role == "assistant":
            calls = message.get("tool_calls")
            if calls:
                pending = {call.get("id") for call in calls}
                if len(pending) != len(calls):
                    return f"message {index}: an assistant message repeats a tool call id"
            elif calls is not None:
                return f"message {index}: an assistant message has an empty tool_calls list"
            elif message.get("content") is None:
                return f"message {index}: an assistant message has neither content nor tool calls"
    return f"the end: tool calls {sorted(pending)} are not answered" if pending else None


def _fix_assistant(message: dict) -> dict:
    fixed: dict[str, Any] | None = None
    if "tool_calls" in message and not message["tool_calls"]:
        fixed = {k: v for k, v in message.items() if k != "tool_calls"}
    current = fixed or message
    if current.get("content") is None and not current.get("tool_calls"):
        fixed = {**current, "content": ""}
    return fixed or message


# The cutting helpers live in turns.py (loaded by memory strategies and stores).
__getattr__ = lazy_names(__name__, {"turns": ("turn_starts", "keep_last_turns", "blocks")})
