"""Run-level guards: a wall-clock deadline for a whole run, and a model repeating the same tool call.

Both are state of one run, shared with its nested agents (they hang off the run's Budget). The loop asks
them before each model call and each tool step; the drivers cap every model and tool wait at the deadline
(`ModelCall.deadline`, `RunTools.deadline`) so that a slow call cannot outlive the run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ..errors import RepeatedToolCallError, RunTimeoutError, UserError

REPEAT_ACTIONS = ("raise", "note")


@dataclass(frozen=True)
class RepeatPolicy:
    """What to do when the model makes the identical tool call `times` times in a row: "raise" stops the run
    with RepeatedToolCallError; "note" answers the repeat (without running it) asking for another approach."""

    times: int = 3
    action: str = "raise"

    def __post_init__(self) -> None:
        if not isinstance(self.times, int) or self.times < 2:
            raise UserError(f"max_repeated_tool_calls must be an int of at least 2, got {self.times!r}.")
        if self.action not in REPEAT_ACTIONS:
            raise UserError(f"on_repeated_tool_call must be one of {REPEAT_ACTIONS}, got {self.action!r}.")


class Deadline:
    """`Runner(run_timeout=...)`: the monotonic time by which the whole run must end (None: no deadline)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def cap(self, request: Any) -> None:
        """Cap a model request's timeouts at the time left."""
        if self.at is not None:
            left = max(self.at - time.monotonic(), 0.001)
            request.timeout = min(request.timeout or left, left)
            request.idle_timeout = min(request.idle_timeout or left, left)
            if getattr(request, "connect_timeout", None) is not None:
                request.connect_timeout = min(request.connect_timeout, left)

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def check(self, result: Any, cause: BaseException | None = None) -> None:
        """Raise RunTimeoutError if the deadline has passed (from `cause`, the wait it cut short)."""
        if self.passed():
            raise RunTimeoutError(
                f"The run did not finish within run_timeout={self.seconds:g} s. Raise Runner(run_timeout=...) "
                "or simplify the task; the session is valid and the partial result is on .result.",
                timeout=float(self.seconds or 0), result=result) from cause


class RepeatTracker:
    """Counts identical consecutive tool calls (same name, same arguments) across the steps of a run."""

    def __init__(self, policy: RepeatPolicy | None) -> None:
        self.policy = policy
        self.last: tuple[str, str] | None = None
        self.count = 0

    def repeats(self, calls: list[dict]) -> dict[str, int]:
        """Feed one step's calls in order; return {call id: times in a row} for the calls at or past the limit."""
        if self.policy is None:
            return {}
        found: dict[str, int] = {}
        for call in calls:
            key = (call["function"]["name"], _canonical(call["function"]["arguments"]))
            self.count = self.count + 1 if key == self.last else 1
            self.last = key
            if self.count >= self.policy.times:
                found[call["id"]] = self.count
        return found

    def check(self, calls: list[dict], result: Any) -> dict[str, int]:
        """`repeats`, raising RepeatedToolCallError for the first repeat when the policy says "raise"."""
        found = self.repeats(calls)
        if found and self.policy is not None and self.policy.action == "raise":
            first = next(call for call in calls if call["id"] in found)
            raise self.stop(first, found[first["id"]], result)
        return found

    def stop(self, call: dict, times: int, result: Any) -> RepeatedToolCallError:
        name = call["function"]["name"]
        return RepeatedToolCallError(
            f"The model called {name!r} with the same arguments {times} times in a row. Give it a clearer "
            "instruction or another tool, or use Runner(on_repeated_tool_call=\"note\") to let it try another "
            "approach; the partial result is on .result.", tool_name=name, times=times, result=result)


def repeat_note(name: str, times: int) -> str:
    """The answer to a repeated call in "note" mode (it did not run)."""
    return (f"Error: you called {name!r} with the same arguments {times} times in a row; it did not run again "
            "and its result would not change. Try a different approach or answer with what you have.")


def _canonical(arguments: Any) -> str:
    try:
        return json.dumps(json.loads(arguments) if isinstance(arguments, str) else arguments, sort_keys=True)
    except (TypeError, ValueError):
        return str(arguments)
