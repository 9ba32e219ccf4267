"""The four plug points a feature may use, the step they see, and the typed decisions of a tool step.

A capability is any object with some of these methods; each is optional (subclass `agentsilex.Capability`, whose
methods do nothing, or not; it lives in wrapping.py with the other helpers for writing one):

    prepare(request, step) -> request       change what is sent. Runs inside build_request, in list order, and is
                                            the only place a request may change. It may instead return a generator
                                            that yields ModelCalls (a summary, say) and then returns the request.
    decide(call, step) -> Decision | None   claim one tool call; the first non-None decision wins, else the engine
                                            runs the tool.
    guard(step) -> None                     check at `step.phase`: "input" (the prompt is stored, nothing sent yet),
                                            "tools" (calls decided, none started), "commit" (the step is about to be
                                            stored). Raise to stop the run; on a final answer, raise `Retry(note)` to
                                            have the model answer again with the note.
    wrap(loop) -> loop                      middleware around the whole run, as a generator: it sees every request the
                                            loop yields and every answer sent back (`intercept` does the forwarding),
                                            may refuse a request by raising, and never edits what is sent.
                                            `loop.run` is the run about to start (agent, session, context, prompt).

The Runner assembles each run's list: the built-in features that what you configured needs (each imported only
then), then your own `Runner(capabilities=[...])`, then hooks and tracing. prepare, decide and guard run in list
order; wraps nest so that the first is innermost (nearest the loop) and the last outermost (nearest the driver).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:  # annotations only: this module is a leaf
    from ..events import Event
    from ..models.base import Model, ModelRequest
    from ..tool import Tool

RUNNING: ContextVar[Any] = ContextVar("agentsilex_tool_call", default=None)  # the ToolRun executing (tool_call.py)
# -- what the loop asks its driver for (what a wrap sees), and what comes back --------------------------------
@dataclass
class ModelCall:
    """Ask `model` for the next assistant message (answered by the driver with a ModelResponse).

    The driver tries `fallbacks` in order when `model` fails for good, and caps every wait at `deadline`
    (time.monotonic(), set by a wrap: Runner(run_timeout=...)). `quiet` calls (a compaction summary) are never
    streamed: they make no events for the caller."""

    model: Model
    request: ModelRequest
    agent: Any
    run: Any = None
    quiet: bool = False
    deadline: float | None = None
    fallbacks: Sequence[Model] = ()


@dataclass
class ToolRun:
    """One validated tool call, ready to execute."""

    call_id: str
    tool: Tool
    arguments: dict[str, Any]
    context: Any
    run: Any = None  # the Run it belongs to: its session and step name the call (tool_call.py)

    def start(self) -> Any:
        RUNNING.set(self)  # every driver runs a call in a context of its own, so this never leaks out
        return self.tool.invoke(self.arguments, self.context)


@dataclass
class RunTools:
    """Execute these calls (concurrently if the driver likes); answer with Outcomes in the same order."""

    calls: list[ToolRun]
    run: Any = None
    deadline: float | None = None  # time.monotonic() by which every call must end (set by a wrap)


@dataclass
class Emit:
    """Hand an event to the caller."""

    event: Event
    run: Any = None


@dataclass(frozen=True)
class Outcome:
    """What one tool call produced: a value, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None


class Retry(Exception):
    """Raised by a guard on a final answer: it is not stored, and the model answers again with `note` after it."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note


@dataclass(eq=False)
class Step:
    """One model turn as capabilities see it; the fields fill in as the turn goes (see the module docstring)."""

    run: Any  # engine.loop.Run: agent, session, context, result, depth, state (per-run notes), ...
    agent: Any  # the agent that takes this turn (a handoff changes run.agent, not this)
    phase: str = "request"
    model: Any = None  # the Model this turn's request goes to
    instructions: str = ""  # the system prompt as rendered for this turn (the request's first message, if any)
    request: Any = None  # the ModelRequest as sent
    message: dict | None = None  # the assistant's reply
    offered: tuple[str, ...] | None = None  # the tool names the request offered (a call to any other never runs)
    decisions: list[Decision] = field(default_factory=list)  # one per tool call, in call order (so far)
    ready: list[Any] = field(default_factory=list)  # the ToolRuns about to start
    outcomes: dict[str, Any] = field(default_factory=dict)  # call id -> Outcome, for the calls that ran
    records: list[Any] = field(default_factory=list)  # the FunctionCall answering each call
    output: Any = None  # the final output: the answer's text, or what a guard made of it
    final: bool = False  # this step ends the run (an answer, a final_answer call, stop_on_first_tool)
    resumed: bool = False  # it answers a step that paused for approval

    @property
    def context(self) -> Any:
        return self.run.context


# -- the five decisions: how one tool call is answered ------------------------------------------------------
@dataclass(slots=True)
class RunIt:
    """Run the tool with these validated arguments."""

    call: dict
    tool: Any
    arguments: dict[str, Any]


@dataclass(slots=True)
class AlreadyAnswered:
    """Answered without running (an unknown tool, bad arguments, a refusal, a repeat): `record` is the answer."""

    call: dict
    record: Any
    error: Exception | None = None  # what Runner(raise_tool_errors=True) raises for it


@dataclass(slots=True)
class AwaitApproval:
    """Wait for a human: the whole step pauses before anything runs (`pending` describes the call)."""

    call: dict
    pending: Any


@dataclass(slots=True)
class HandOff:
    """Hand the conversation to `agent` once this step is stored; `record` answers the call."""

    call: dict
    agent: Any
    record: Any


@dataclass(slots=True)
class FinalAnswer:
    """The run's final output, given as a tool call (structured output's final_answer)."""

    call: dict
    value: Any
    record: Any


Decision = RunIt | AlreadyAnswered | AwaitApproval | HandOff | FinalAnswer


def plug_points(capabilities: list[Any]) -> dict[str, list[Callable]]:
    """Each plug point's bound methods, in list order, for the capabilities that implement it."""
    found: dict[str, list[Callable]] = {"prepare": [], "decide": [], "guard": [], "wrap": []}
    if capabilities:
        from ..wrapping import Capability  # its do-nothing methods are not plug points
    for capability in capabilities:
        for name, methods in found.items():
            method = getattr(capability, name, None)
            if callable(method) and getattr(type(capability), name, None) is not getattr(Capability, name):
                methods.append(method)
    return found
