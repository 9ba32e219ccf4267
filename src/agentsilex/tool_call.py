"""`current_tool_call()`: inside a tool, which call this is, with an idempotency key that survives retries.

The key names the call, not the attempt: a hash of the session (its id; none for an in-memory one), the calls of the
agents used as tools that lead to it, the step (how many messages the session held before the model reply that asked
for the call) and the call's id from that reply. The same call gets the same key wherever it runs again: an approval
resumed in another process, a durable run's tool retried on another worker, a replay. Pass it on as the
`Idempotency-Key` of a payment API, say, and a retried side effect happens once. Loaded only when a tool asks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .engine.capability import RUNNING
from .errors import UserError


@dataclass(frozen=True)
class ToolCallInfo:
    """The tool call running now: its id (from the model's reply), the tool's name, and its idempotency key."""

    call_id: str
    name: str
    idempotency_key: str
    step: int  # messages the session held before the reply that asked for this call


def current_tool_call() -> ToolCallInfo:
    """The call the current tool runs for (in every mode, and in durable runs); UserError outside a tool."""
    running = RUNNING.get()
    if running is None:
        raise UserError("current_tool_call() works inside a tool while a run executes it; it was called outside one.")
    return running if isinstance(running, ToolCallInfo) else describe(running)


def describe(item: Any) -> ToolCallInfo:
    """The ToolCallInfo of a ToolRun (engine/capability.py) from its Run."""
    scope, step = scope_of(item.run), position_of(item.run)
    return ToolCallInfo(item.call_id, item.tool.name, idempotency_key(scope, step, item.call_id), step)


def idempotency_key(scope: list[str], step: int, call_id: str) -> str:
    text = json.dumps([*scope, step, call_id], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def scope_of(run: Any) -> list[str]:
    """The outermost run's session id, then the tool call of each agent used as a tool down to `run`."""
    calls: list[str] = []
    while run is not None and run.parent is not None:
        calls.insert(0, run.call_id or "")
        run = run.parent
    return [str(getattr(run.session, "session_id", "") if run is not None else ""), *calls]


def position_of(run: Any) -> int:
    if run is None:
        return 0
    session = run.session
    return len(session) if hasattr(type(session), "__len__") else len(session.get_dialogs())
