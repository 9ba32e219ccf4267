"""OpenAI-format messages as plain JSON-safe dicts: the only shape that enters a session or a result."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from .errors import UserError

Message = dict[str, Any]

# What a reasoning model's assistant message may carry besides its content, and the provider that wrote it
# (models/reasoning.py decides where they may be sent back; it loads only when a message carries them).
REASONING_KEYS = ("reasoning_content", "thinking_blocks", "provider_specific_fields", "reasoning_provider")

# The answer recorded for a tool call whose result is unknown (a crash or an interrupt mid-tool), so the
# history stays valid for strict providers.
INTERRUPTED = "Error: the tool call was interrupted before it finished; its result is unknown."


def system(content: str) -> Message:
    return {"role": "system", "content": content}


def user(content: str | list[dict]) -> Message:
    """A user message: text, or a list of content parts (content.py)."""
    return {"role": "user", "content": content}


def assistant(content: str | None, tool_calls: list[dict] | None = None) -> Message:
    message: Message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def tool_call(call_id: str, name: str, arguments: str) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool_result(call_id: str, content: str) -> Message:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def to_text(value: Any) -> str:
    """Render a tool's return value as the text the model reads."""
    if isinstance(value, str):
        return value
    if hasattr(value, "model_dump_json"):  # pydantic models
        return value.model_dump_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def carries_reasoning(messages: list[Message]) -> bool:
    return any(key in message for message in messages for key in REASONING_KEYS)


def tool_call_ids(message: Message) -> list[str]:
    """The ids of the tool calls an assistant message makes (empty for any other message)."""
    if message.get("role") != "assistant":
        return []
    return [call["id"] for call in message.get("tool_calls") or []]


# -- the checks on the way in: a message a session stores must be one a provider accepts ----------------------
_ROLES = ("system", "developer", "user", "assistant", "tool")


def check_messages(batch: list[Any]) -> list[Any]:
    """The batch, if every message is one a provider accepts (a bad one would break every later run)."""
    for index, message in enumerate(batch):
        problem = _problem(message)
        if problem is not None:
            raise UserError(f"Cannot add message {index} of {len(batch)}: {problem}. Nothing was added; "
                              "messages are OpenAI-format dicts such as {'role': 'user', 'content': 'hi'}.")
    return batch


def _problem(message: Any) -> str | None:
    if not isinstance(message, dict):
        return f"it is a {type(message).__name__}, not a dict"
    role = message.get("role")
    if role not in _ROLES:
        return f"its 'role' is {role!r}; use one of {', '.join(_ROLES)}"
    content = message.get("content")
    if role == "assistant":
        if content is not None and not isinstance(content, (str, list)):
            return f"its 'content' is a {type(content).__name__}; use a str, a list of parts or None"
        return _calls_problem(message.get("tool_calls"))
    if not isinstance(content, (str, list)):
        return f"a {role} message needs 'content' as a str or a list of parts, got {type(content).__name__}"
    if role == "tool" and not (isinstance(message.get("tool_call_id"), str) and message["tool_call_id"]):
        return "a tool message needs the 'tool_call_id' of the call it answers"
    return None


def _calls_problem(calls: Any) -> str | None:
    if calls is None:
        return None
    if not isinstance(calls, list):
        return "its 'tool_calls' is not a list"
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not (isinstance(call, dict) and isinstance(call.get("id"), str) and call["id"]):
            return "each of its 'tool_calls' needs a non-empty str 'id'"
        if not (isinstance(function, dict) and isinstance(function.get("name"), str)
                and isinstance(function.get("arguments"), str)):
            return f"tool call {call['id']!r} needs 'function': {{'name': str, 'arguments': str}}"
    return None
