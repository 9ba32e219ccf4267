"""OpenAI-format messages as plain JSON-safe dicts: the only shape that enters a session or a result."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

Message = dict[str, Any]

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


def tool_call_ids(message: Message) -> list[str]:
    """The ids of the tool calls an assistant message makes (empty for any other message)."""
    if message.get("role") != "assistant":
        return []
    return [call["id"] for call in message.get("tool_calls") or []]
