"""Human approval: a tool marked `needs_approval` pauses the run before it executes.

The paused run returns `result.pending_approvals` and `result.state`, a `RunState` that serialises to
JSON. Later -- in this process or another one, with the same session contents -- decide each pending
call and pass the state back as the prompt: `runner.run(agent, state)` (any of the four modes).

    state = RunState.from_json(text)
    state.approve("call_1"); state.reject("call_2", "not today")
    result = runner.run(agent, state)

Approval is enforced here, in code: a call that needs approval runs only with an explicit approval of
its id. A decision function that raises counts as "needs approval" (fail closed), and malformed
arguments are answered with an error without running anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError
from .usage import RunUsage

VERSION = 1


@dataclass(frozen=True)
class PendingApproval:
    """A tool call waiting for a human decision."""

    call_id: str
    tool_name: str
    arguments: str
    agent: str


@dataclass
class RunState:
    """A run paused for approval: the assistant message whose calls wait, and the decisions taken so far."""

    agent: str
    input: str
    message: dict
    pending: list[PendingApproval]
    usage: RunUsage = field(default_factory=RunUsage)
    chain: list[str] = field(default_factory=list)
    spent: dict[str, float] = field(default_factory=lambda: {"tokens": 0, "tool_calls": 0, "cost": 0.0})
    decisions: dict[str, dict] = field(default_factory=dict)
    offered: list[str] | None = None  # the tool names the paused step was offered (the others never run)

    def approve(self, call_id: str) -> RunState:
        """Allow the pending call `call_id` to run."""
        self._decide(call_id, {"approved": True})
        return self

    def reject(self, call_id: str, reason: str = "") -> RunState:
        """Refuse the pending call `call_id`; the model is told it was refused (and why, if given)."""
        self._decide(call_id, {"approved": False, "reason": reason})
        return self

    def approve_all(self) -> RunState:
        for item in self.pending:
            self.approve(item.call_id)
        return self

    def _decide(self, call_id: str, decision: dict) -> None:
        if call_id not in {item.call_id for item in self.pending}:
            known = ", ".join(item.call_id for item in self.pending)
            raise UserError(f"No pending approval has call id {call_id!r}; pending: {known}.")
        self.decisions[call_id] = decision

    def undecided(self) -> list[PendingApproval]:
        return [item for item in self.pending if item.call_id not in self.decisions]

    def to_json(self) -> str:
        return json.dumps({"version": VERSION, "agent": self.agent, "input": self.input, "message": self.message,
                           "pending": [vars(p) for p in self.pending], "usage": self.usage.to_dict(),
                           "chain": self.chain, "spent": self.spent, "decisions": self.decisions,
                           "offered": self.offered})

    @classmethod
    def from_json(cls, text: str) -> RunState:
        try:
            data = json.loads(text)
            if data.get("version") != VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
            return cls(data["agent"], data["input"], data["message"],
                       [PendingApproval(**p) for p in data["pending"]], RunUsage.from_dict(data["usage"]),
                       data["chain"], data["spent"], data["decisions"], data.get("offered"))
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"Not a saved RunState ({exc}); pass the text of result.state.to_json().") from exc


def check_resumable(state: RunState, dialogs: list[dict]) -> None:
    """Refuse to resume with undecided calls, or a second time on the same session."""
    undecided = state.undecided()
    if undecided:
        raise UserError("Decide every pending call before resuming: "
                        + ", ".join(f"{p.call_id} ({p.tool_name})" for p in undecided)
                        + " -- use state.approve(call_id) or state.reject(call_id).")
    # Fail closed on a state edited after the pause: decisions only for pending calls, which must show
    # the human exactly the arguments that will run.
    sent = {call["id"]: call["function"]["arguments"] for call in state.message.get("tool_calls") or []}
    pending = {item.call_id: item.arguments for item in state.pending}
    if set(state.decisions) - set(pending) or any(sent.get(i) != arguments for i, arguments in pending.items()):
        raise UserError("This RunState does not match the step it paused on (edited after the pause?); "
                        "it cannot be resumed.")
    if state.message in dialogs:  # the waiting step is committed whole when it is resumed
        raise UserError("This RunState was already resumed on this session; each paused run resumes once.")


def needs_approval(tool: Any, context: Any, arguments: dict) -> bool:
    """Whether this call must wait for a human; a decision function that fails means yes."""
    rule = getattr(tool, "needs_approval", False)
    if not callable(rule):
        return bool(rule)
    try:
        return bool(rule(context, arguments))
    except Exception:
        return True


def refused(tool_name: str, reason: str) -> str:
    return (f"Error: a human refused the call to {tool_name!r}" + (f": {reason}" if reason else "")
            + ". It did not run; do not try it again unchanged.")


def unavailable(tool_name: str) -> str:
    return (f"Error: {tool_name!r} needs human approval, which an agent used as a tool cannot ask for. "
            "It did not run.")
