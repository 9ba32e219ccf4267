"""Content parts in prompts and tool results, as OpenAI content-part dicts (the helpers are in parts.py).

A prompt is a `str`, or a list of parts: `{"type": "text", "text": ...}`, `{"type": "image_url", "image_url":
{"url": <URL or data: URI>}}`, `{"type": "input_audio", "input_audio": {"data": <base64>, "format": "wav"}}`,
`{"type": "file", "file": {"filename": ..., "file_data": <data: URI>}}` (or `{"file_id": ...}`), mixed with
plain strings and the `Image`/`Audio`/`File` helpers. Tool messages must be text for most providers, so a
tool that returns parts answers with text (naming what is attached), and the step's parts follow in one user
message after its tool results. Sessions store parts as JSON; each inline payload may hold at most
`MAX_INLINE_BYTES` (20 MiB, OpenAI's largest image; set it to change the guard), else `UserError`.
"""

from __future__ import annotations

from typing import Any

from ..errors import UserError

MAX_INLINE_BYTES = 20 * 1024 * 1024
PART_TYPES = {"text": "text", "image_url": "image_url", "input_audio": "input_audio", "file": "file"}
Prompt = Any  # a str, a helper, or a list mixing str, helpers and part dicts


def check_size(size: int, what: str) -> None:
    if size > MAX_INLINE_BYTES:
        raise UserError(f"Inline content ({what}) is {size:,} bytes; the limit is {MAX_INLINE_BYTES:,} "
                        "(agentsilex.content.MAX_INLINE_BYTES). Shrink or resize it, pass a URL or a provider "
                        "file id instead, or raise the limit if your provider and session store accept it.")


def is_part(item: Any) -> bool:
    return isinstance(item, dict) and PART_TYPES.get(item.get("type")) in item


def is_helper(item: Any) -> bool:
    return callable(getattr(item, "part", None)) and not isinstance(item, (dict, str))


def check_part(part: dict) -> None:
    """Refuse an inline payload past MAX_INLINE_BYTES (base64 text is 4/3 of its bytes)."""
    payload = part[PART_TYPES[part["type"]]]
    if isinstance(payload, dict):
        inline = payload.get("url") or payload.get("data") or payload.get("file_data") or ""
        if isinstance(inline, str) and len(inline) > 1024:
            check_size(len(inline) * 3 // 4, part["type"])


def to_part(item: Any) -> dict:
    """One checked part dict from a str, a helper (`Image`, `Audio`, `File`) or a part dict."""
    part = {"type": "text", "text": item} if isinstance(item, str) else item.part() if is_helper(item) else item
    if not is_part(part):
        raise UserError(f"{item!r:.200} is not a content part. Use a str, Image/Audio/File (agentsilex), or an "
                        f"OpenAI part dict whose 'type' is one of {sorted(PART_TYPES)}.")
    check_part(part)
    return part


def normalize_prompt(prompt: Prompt) -> str | list[dict]:
    """A prompt as sent: a str stays a str; a helper or a list becomes a list of checked part dicts."""
    if isinstance(prompt, str):
        return prompt
    if is_helper(prompt) or is_part(prompt):
        return [to_part(prompt)]
    if isinstance(prompt, (list, tuple)) and prompt:
        return [to_part(item) for item in prompt]
    raise UserError(f"prompt must be a str, a non-empty list of content parts, Image/Audio/File, or a RunState; "
                    f"got {type(prompt).__name__}.")


def has_parts(value: Any) -> bool:
    """Does a tool's return value hold content parts (not just data to send as JSON)?"""
    items = value if isinstance(value, (list, tuple)) else [value]
    return (bool(items) and any(is_helper(v) or is_part(v) for v in items)
            and all(isinstance(v, str) or is_helper(v) or is_part(v) for v in items))


def split_tool_value(value: Any) -> tuple[str, list[dict]]:
    """A tool's parts as (the tool message's text, the non-text parts to attach after the step)."""
    parts = [to_part(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    attached = [p for p in parts if p["type"] != "text"]
    names = ", ".join(p["type"].removesuffix("_url").removeprefix("input_") for p in attached)
    return "\n".join([*(p["text"] for p in parts if p["type"] == "text"),
                      f"[attached: {names}; shown in the next message]"]), attached


def attachment_message(records: list[Any]) -> list[dict]:
    """The user message that shows the model what this step's tools returned as parts (none: no message)."""
    content: list[dict] = []
    for record in records:
        if record.attachments:
            content.append({"type": "text", "text": f"Attachments returned by tool {record.name!r} "
                                                    f"(call {record.call_id}):"})
            content.extend(record.attachments)
    return [{"role": "user", "content": content}] if content else []
