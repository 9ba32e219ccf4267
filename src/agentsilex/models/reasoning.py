"""Reasoning continuity: a reasoning model's thoughts travel with its assistant message, to its own provider.

Kept on the message: `reasoning_content` (str; servers that say `reasoning` are read too), `thinking_blocks`
(Anthropic's, with the `signature` it requires back unchanged before a tool result) and
`provider_specific_fields`; plus `reasoning_provider`, the provider that wrote them. Policy (build_request's
"reasoning" step, and the drivers on a fallback): they go back only to that provider; for any other (a
handoff to another model, a fallback model) they are stripped. The mark itself is never sent, and reasoning
without a mark never is. A model's provider: its `provider` attribute, else its name's prefix before "/".
"""

from __future__ import annotations

from typing import Any

FIELDS = ("reasoning_content", "thinking_blocks", "provider_specific_fields")
MARK = "reasoning_provider"


def provider_of(model: Any) -> str:
    named = getattr(model, "provider", None)
    if isinstance(named, str) and named:
        return named
    name = str(getattr(model, "name", "") or "")
    return name.split("/", 1)[0] if "/" in name else name


def plain(value: Any) -> Any:
    """A provider object (LiteLLM's pydantic or TypedDict values) as plain JSON-safe data."""
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def extract(source: Any) -> dict[str, Any]:
    """The reasoning fields of a provider message (a dict or an object); empty ones are left out."""
    get = source.get if isinstance(source, dict) else (lambda key: getattr(source, key, None))
    text = get("reasoning_content") or get("reasoning")
    found: dict[str, Any] = {"reasoning_content": text} if isinstance(text, str) and text else {}
    for key in ("thinking_blocks", "provider_specific_fields"):
        value = plain(get(key))
        value = {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value
        if value:
            found[key] = value
    return found


def delta_fields(delta: Any) -> dict[str, Any]:
    """A LiteLLM stream delta's reasoning pieces as plain data (the stream accumulator joins them)."""
    found = {key: plain(getattr(delta, key, None)) for key in FIELDS}
    return {key: value for key, value in found.items() if value}


def mark(message: dict, model: Any) -> dict:
    """The message with the provider that wrote its reasoning recorded (one without reasoning: unchanged)."""
    if any(key in message for key in FIELDS) and MARK not in message:
        return {**message, MARK: provider_of(model)}
    return message


def for_provider(messages: list[dict], provider: str) -> list[dict]:
    """The messages to send to `provider`: its own reasoning kept, anyone else's stripped, marks removed."""
    out = []
    for message in messages:
        if message.get("role") == "assistant" and (MARK in message or any(key in message for key in FIELDS)):
            keep = message.get(MARK) == provider
            message = {k: v for k, v in message.items() if k != MARK and (keep or k not in FIELDS)}
        out.append(message)
    return out


def strip_all(messages: list[dict]) -> list[dict]:
    """Every reasoning field removed (a fallback to another provider: what is left was the first one's)."""
    return for_provider(messages, "\0none")
