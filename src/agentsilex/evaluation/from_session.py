"""Turn a recorded conversation (a session, or its messages) into an evaluation case."""

from __future__ import annotations

import os
from typing import Any

from ..errors import UserError
from .data import DialogTurn, EvalCase, ToolUsage


def case_from_messages(messages: list[dict], eval_id: str) -> EvalCase:
    """One turn per user message: the tools the agent called, and its last answer, become the expectation."""
    turns: list[DialogTurn] = []
    calls: dict[str, ToolUsage] = {}
    for message in messages:
        role = message.get("role")
        if role == "user":
            turns.append(DialogTurn(user_utterance=_text(message.get("content"))))
        elif not turns:
            continue  # a system prompt, or anything before the first user message
        elif role == "assistant":
            for tool_call in message.get("tool_calls") or []:
                function = tool_call.get("function") or {}
                usage = ToolUsage(name=function.get("name", ""), arguments=function.get("arguments") or "{}")
                calls[tool_call.get("id", "")] = usage
                turns[-1].tools_used.append(usage)
            if message.get("content"):
                turns[-1].agent_response = _text(message["content"])
        elif role == "tool" and message.get("tool_call_id") in calls:
            calls[message["tool_call_id"]].response = message.get("content")
    if not turns:
        raise UserError(f"The conversation for {eval_id!r} has no user message to turn into a case.")
    return EvalCase(eval_id=eval_id, dialog_session=turns)


def case_from_session(session: Any, eval_id: str | None = None) -> EvalCase:
    """A case from any session or store (`get_dialogs()`), named after its id unless `eval_id` is given."""
    name = eval_id or getattr(session, "session_id", None) or "session"
    return case_from_messages(session.get_dialogs(), name)


def open_session(url: str, session_id: str) -> Any:
    """A stored session by URL: `sqlite:///path.db` (or a .db path), `redis://...`, or any SQLAlchemy URL
    (`postgresql+psycopg://...`)."""
    from .. import stores

    if url.startswith("sqlite:///") or "://" not in url:
        path = url.removeprefix("sqlite:///")
        if not os.path.exists(path):
            raise UserError(f"No SQLite session database at {path!r}.")
        return stores.SQLiteSession(session_id, path)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return stores.RedisSession(session_id, url=url)
    return stores.SQLAlchemySession(session_id, url=url)


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)
