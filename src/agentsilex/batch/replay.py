"""Resuming a batch job after a crash: each unfinished run is played again, up to where it was, from what its
session and the provider hold, then goes on for real.

A run's loop cannot be saved, but it can be rebuilt: the run starts again on a `Replaying` view of its session,
which shows the loop the history as it stood when the run began, and takes each message the loop stores as
read from the session instead (they must be the same messages, in order, or the job stops with
`BatchResumeError`). Model calls are answered from the provider's batches of the job (their output files);
tool calls from the tool messages the session holds, so no tool runs twice. Once the replay has stored
everything the session holds, the view writes through, and the run continues as if it had never stopped.
"""

from __future__ import annotations

from typing import Any

from ..engine.capability import Outcome
from ..errors import AgentsilexError
from ..session import get_state, has_capabilities, set_state

STATE = "agentsilex.batch"  # kept with each run's session: {"name", "start", "agent", "done", "batches"}


class BatchResumeError(AgentsilexError):
    """A session no longer matches the run a batch job started on it (it changed, or the prompts did)."""


def started(session: Any, name: str) -> dict | None:
    """The note a batch job `name` left on this session when its run began (None: not begun)."""
    note = get_state(session, STATE)
    return note if isinstance(note, dict) and note.get("name") == name else None


def begin(session: Any, name: str, agent: str) -> None:
    set_state(session, STATE, {"name": name, "start": len(session.get_dialogs()), "agent": agent, "done": False})


def note_batch(session: Any, name: str, batch_id: str, server: str, calls: list[str]) -> None:
    """Remember that these model calls of the run went out in this provider batch (found again on resume)."""
    note = started(session, name)
    if note is not None:
        set_state(session, STATE, {**note, "batches": {**(note.get("batches") or {}),
                                                       batch_id: {"server": server, "calls": calls}}})


def noted_batches(notes: list[dict | None]) -> dict[str, dict]:
    """batch id -> {"server", "calls"}: every batch the runs' notes name, their calls together."""
    found: dict[str, dict] = {}
    for note in notes:
        for batch_id, entry in ((note or {}).get("batches") or {}).items():
            known = found.setdefault(batch_id, {"server": entry.get("server"), "calls": []})
            known["calls"] += list(entry.get("calls") or [])
    return found


def finish(session: Any, name: str) -> None:
    note = started(session, name)
    if note is not None:
        set_state(session, STATE, {**note, "done": True})


class Replaying:
    """A session as a replayed run sees it: the history up to `position`, growing as the run stores each message
    again (see the module docstring); `live` once the replay has caught up."""

    def __init__(self, session: Any, start: int) -> None:
        self.session, self.stored = session, list(session.get_dialogs())
        self.position = start
        self.live = start >= len(self.stored)

    def __getattr__(self, name: str) -> Any:  # anything else (lock_timeout, session_id, ...) is the session's
        return getattr(self.session, name)

    @property
    def dialogs(self) -> list[dict]:
        return self.get_dialogs()

    def get_dialogs(self) -> list[dict]:
        return self.session.get_dialogs() if self.live else self.stored[:self.position]

    def add_new_messages(self, messages: dict | list[dict]) -> None:
        new = [messages] if isinstance(messages, dict) else list(messages)
        if self.live:
            self.session.add_new_messages(new)
            return
        held = self.stored[self.position:self.position + len(new)]
        if held != new[:len(held)]:
            raise BatchResumeError(
                f"Cannot resume this run: its session holds {held[:1]!r:.200} where the replay stores "
                f"{new[:1]!r:.200}. The session, the prompt or the agent changed since the batch began; start a new "
                "batch job (another name) for it.")
        self.position += len(held)
        if len(held) < len(new):  # caught up in the middle of these: the rest is new
            self.session.add_new_messages(new[len(held):])
        self.live = self.position >= len(self.stored)

    def tool_answers(self, calls: list[Any]) -> list[Outcome] | None:
        """While replaying: the stored answers of these tool calls (None: not stored, run them)."""
        if self.live:
            return None
        answers = {m.get("tool_call_id"): m.get("content") for m in self.stored[self.position:]
                   if m.get("role") == "tool"}
        if not all(call.call_id in answers for call in calls):
            return None
        return [Outcome(value=answers[call.call_id]) for call in calls]

    def pop_turn(self) -> list[dict]:
        return self.session.pop_turn()

    def clean(self) -> None:
        self.session.clean()

    def __len__(self) -> int:
        return len(self.get_dialogs())


class ReplayingStore(Replaying):
    """The same, for a store that keeps its own lock and state (stores/base.py: StoreCapabilities)."""

    def acquire_writer(self, timeout: float) -> Any:
        return self.session.acquire_writer(timeout)

    def get_state(self, key: str) -> Any:
        return self.session.get_state(key)

    def set_state(self, key: str, value: Any) -> None:
        self.session.set_state(key, value)


def replaying(session: Any, start: int) -> Replaying:
    return (ReplayingStore if has_capabilities(session) else Replaying)(session, start)
