"""How a message becomes a stored row and back: JSON only (never pickle), with a schema version per row."""

from __future__ import annotations

import json
from typing import Any

from ..features.content import check_part, is_part
from ..errors import SessionError, UserError

SCHEMA_VERSION = 1


class SessionCorruptedError(SessionError):
    """A stored message could not be read back; names the session and the row so it can be inspected."""

    def __init__(self, message: str, *, session_id: str, row: Any) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.row = row


def encode(message: Any) -> str:
    """Compact JSON text for one message.

    Text stays readable UTF-8, except when it holds lone surrogates (tool output decoded with
    `surrogateescape`, say): those cannot be UTF-8, so that row is written with ASCII escapes instead,
    which every backend stores and which decode to the very same string.
    """
    if not isinstance(message, dict):
        raise UserError(f"A session message must be a dict in OpenAI format, got {type(message).__name__}.")
    if isinstance(message.get("content"), list):  # content parts: each inline payload within the size guard
        for part in message["content"]:
            if is_part(part):
                check_part(part)
    try:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UserError(f"Cannot store message {message!r:.200}: it is not plain JSON ({exc}). Sessions hold "
                        "JSON-safe dicts only: convert objects to str, numbers, lists or dicts first.") from exc
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(message, ensure_ascii=True, separators=(",", ":"))
    return text


def decode(text: Any, version: Any, *, session_id: str, row: Any) -> dict:
    """One stored row back to a message; anything unreadable raises SessionCorruptedError naming the row."""
    where = f"session {session_id!r}, row {row!r}"
    if version != SCHEMA_VERSION:
        raise SessionCorruptedError(
            f"Stored message at {where} has schema version {version!r}; this agentsilex reads version "
            f"{SCHEMA_VERSION}. Upgrade agentsilex, or delete or fix that row.", session_id=session_id, row=row)
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        message = json.loads(text)
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        raise SessionCorruptedError(f"Stored message at {where} is not valid JSON ({exc}). Delete or fix that "
                                    "row; nothing was skipped.", session_id=session_id, row=row) from exc
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise SessionCorruptedError(f"Stored message at {where} is not a message dict with a 'role' (its text "
                                    "is not shown: it may be private). Delete or fix that row.",
                                    session_id=session_id, row=row)
    return message
