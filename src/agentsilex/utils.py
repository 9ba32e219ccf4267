"""Small helpers for looking at a session."""

from __future__ import annotations

from typing import Any

from .features.content import text_of


def format_message(message: dict, max_content_len: int = 100) -> str:
    """One compact line for a message: role, then text, tool calls or a tool result."""
    role = message.get("role", "?")
    content = message.get("content")
    text = text_of(content)  # content parts as short labels, never their bytes
    if len(text) > max_content_len:
        text = text[:max_content_len] + "..."
    if message.get("tool_calls"):
        calls = ", ".join(f"{c['function']['name']}({c['function']['arguments']})" for c in message["tool_calls"])
        return f"{role}: CALL {calls}" + (f"  ({text})" if text else "")
    if role == "tool":
        return f"{role}: RESULT {text}"
    return f"{role}: {text}"


def print_dialog_history(session: Any, max_content_len: int = 100) -> None:
    """Print a session's history, one line per message."""
    print("\n=== Dialog History ===")
    for index, message in enumerate(session.get_dialogs(), 1):
        print(f"[{index}] {format_message(message, max_content_len)}")
    print("=" * 80)
