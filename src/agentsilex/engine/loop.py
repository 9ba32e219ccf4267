"""The agent loop, written once, with no I/O.

`agent_loop(run)` is a generator. It yields requests -- `ModelCall` (send back a ModelResponse), `RunTools` (send
back one Outcome per call, in order) and `Emit` (an event for the caller) -- and returns the RunResult. Drivers
(drivers.py) do the I/O, sync or async, streaming or not. The session is written only here, always in whole steps,
so it stays valid whatever fails.

One turn: build the request (request.py), call the model, then either a final answer (guard "commit" -> commit)
or a tool step: decide -> pause? -> guard "tools" -> execute -> record -> guard "commit" -> commit -> emit.
Features act only through the capabilities' plug points (capability.py); this module names none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generator

from .. import messages
from ..errors import MaxTurnsExceeded, ToolError, UnknownToolError
from ..events import AgentHandoffEvent, ApprovalRequestedEvent, FinalResultEvent, ToolCallEvent, ToolResponseEvent
from ..messages import INTERRUPTED
from ..models import resolve_model
from ..result import FunctionCall, RunResult, answer
from .capability import (AlreadyAnswered, AwaitApproval, Decision, Emit, FinalAnswer, HandOff, ModelCall, Outcome,
                         Retry, RunIt, RunTools, Step, ToolRun, plug_points)
from .request import build_request

@dataclass
class LoopOptions:
    """The engine's own settings (everything else is a capability)."""

    max_turns: int = 10
    model_timeout: float | None = None  # carried on each request (see the Model protocol)
    stream_idle_timeout: float | None = None
    connect_timeout: float | None = None
    capabilities: list[Any] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)  # the Runner's settings that features read (max_handoffs)


@dataclass(eq=False)
class Run:
    """The moving parts of one run. An agent used as a tool runs as a child Run (`parent`, `call_id`)."""

    agent: Any
    session: Any
    context: Any
    prompt: Any
    options: LoopOptions = field(default_factory=LoopOptions)
    parent: Run | None = None
    call_id: str | None = None  # the parent's tool call this run answers
    result: RunResult = field(init=False)
    chain: list[str] = field(init=False)  # the agents this run passed through (handoffs)
    step: Step | None = None  # the current turn
    first: bool = True  # the current agent has not made a request yet (its tool_choice may force a call)
    retry: list[dict] | None = None  # the rejected answer and a guard's note: sent once, after everything else
    resume: dict | None = None  # {"message", "offered"}: a step paused for approval, answered first
    state: dict[str, Any] = field(default_factory=dict)  # the capabilities' notes about this run
    plugs: dict[str, list] = field(init=False)

    def __post_init__(self) -> None:
        self.result = RunResult(input=self.prompt, last_agent=self.agent)
        self.chain = [self.agent.name]
        self.plugs = plug_points(self.options.capabilities)

    @property
    def depth(self) -> int:
        return 0 if self.parent is None else self.parent.depth + 1


def agent_loop(run: Run) -> Generator[Any, Any, RunResult]:
    """Model call -> tool calls -> model call ... until the model answers without tool calls."""
    try:
        return (yield from _turns(run))
    except Exception as exc:
        if run.depth == 0 and getattr(exc, "result", False) is None:
            exc.result = run.result  # the outermost run's partial result, whichever level raised
        raise


def _turns(run: Run) -> Generator[Any, Any, RunResult]:
    done = None
    if run.resume is not None:
        step = run.step = Step(run, run.agent, message=run.resume["message"], resumed=True,
                               offered=run.resume.get("offered"))
        done = yield from _tool_step(run, step)
    else:
        _commit(run, [messages.user(run.prompt)])
        _guard(run, Step(run, run.agent), "input")
    for _ in range(run.options.max_turns):
        if done is not None:
            break
        step = yield from _model_call(run)
        done = (yield from _tool_step(run, step)) if step.message.get("tool_calls") else _final(run, step)
    if done is None:
        raise MaxTurnsExceeded(
            f"Agent {run.agent.name!r} did not give a final answer within max_turns={run.options.max_turns}. "
            "Raise Runner(max_turns=...) or simplify the task; the partial result is on .result.",
            result=run.result)
    if run.depth == 0 and not done.pending_approvals:
        yield Emit(FinalResultEvent(done.final_output, done, done.finish_reason), run)
    return done


def _model_call(run: Run) -> Generator[Any, Any, Step]:
    """Build the request (request.py: everything that decides what is sent) and call the model."""
    agent = run.agent
    step = run.step = Step(run, agent, model=resolve_model(agent.model))
    fallbacks = [resolve_model(model) for model in agent.fallback_models]
    for attempt in (1, 2):  # a wrap may ask once for the request to be built again (Retry), e.g. in other words
        step.request = yield from build_request(run, step)
        try:
            response = yield ModelCall(step.model, step.request, agent, run=run, fallbacks=fallbacks)
            break
        except Retry:
            if attempt == 2:
                raise
    run.retry, run.first, run.result.finish_reason = None, False, response.finish_reason
    run.result.usage.add_request(response.usage, agent=agent.name, model=step.model.name)
    step.message = response.message
    step.offered = tuple(spec["function"]["name"] for spec in step.request.tools)
    return step


def _final(run: Run, step: Step) -> RunResult | None:
    """The model answered without tool calls: guard, commit. None: a guard asked for another answer."""
    step.output, step.final = step.message.get("content"), True
    try:
        _guard(run, step, "commit")
    except Retry as retry:
        run.retry = [step.message, messages.user(retry.note)]
        return None
    _commit(run, [step.message])
    run.result.final_output = step.output
    return run.result


def _guard(run: Run, step: Step, phase: str) -> None:
    step.phase = phase
    for guard in run.plugs["guard"]:
        guard(step)


def _tool_step(run: Run, step: Step) -> Generator[Any, Any, RunResult | None]:
    """One assistant message's tool calls: decide -> pause? -> guard -> execute -> record -> commit -> emit."""
    calls = step.message["tool_calls"]
    for call in calls if not step.resumed else ():  # a resumed step's calls were announced at the pause
        yield Emit(ToolCallEvent(call["id"], call["function"]["name"], call["function"]["arguments"],
                                 run.agent.name), run)
    for call in calls:  # one decision per call, in order (a decision may look at the ones before it)
        step.decisions.append(_decide(run, step, call))
    waiting = [d for d in step.decisions if isinstance(d, AwaitApproval)]
    if waiting:  # nothing runs and nothing is stored until a human decides
        return (yield from _pause(run, waiting))
    step.ready = [ToolRun(d.call["id"], d.tool, d.arguments, run.context, run) for d in step.decisions
                  if isinstance(d, RunIt)]
    _guard(run, step, "tools")
    step.outcomes = yield from _execute(run, step)
    step.records = [_record(d, step.outcomes.get(d.call["id"])) for d in step.decisions]
    answer = next((d for d in step.decisions if isinstance(d, FinalAnswer)), None)
    step.final, step.output = answer is not None, None if answer is None else answer.value
    _guard(run, step, "commit")  # a guard may end the run with this step too (stop_on_first_tool)
    _commit(run, [step.message, *(messages.tool_result(r.call_id, r.content) for r in step.records),
                  *_attachments(step.records)])
    run.result.function_calls.extend(step.records)
    for record in step.records:
        yield Emit(ToolResponseEvent(record.call_id, record.name, record.content, record.error, run.agent.name,
                                     record.attachments), run)
    handoff = next((d for d in step.decisions if isinstance(d, HandOff)), None)
    if handoff is not None:
        yield from _hand_off(run, handoff)
    if not step.final:
        return None
    run.result.final_output = step.output
    return run.result


def _decide(run: Run, step: Step, call: dict) -> Decision:
    name = call["function"]["name"]
    if step.offered is not None and name not in step.offered:  # hidden on this step: fail closed
        return _rejected(call, UnknownToolError(
            f"Unknown tool {name!r}. Available tools: {', '.join(step.offered) or 'none'}.", tool_name=name))
    for decide in run.plugs["decide"]:
        decision = decide(call, step)
        if decision is not None:
            return decision
    try:
        found = run.agent.find_tool(name, run.context)
        return RunIt(call, found, found.parse_arguments(call["function"]["arguments"]))
    except ToolError as exc:
        return _rejected(call, exc)


def _rejected(call: dict, error: ToolError) -> AlreadyAnswered:
    error.call_id, error.arguments = call["id"], call["function"]["arguments"]
    return AlreadyAnswered(call, answer(call, f"Error: {error}", failed=True), error=error)


def _pause(run: Run, waiting: list[AwaitApproval]) -> Generator[Any, Any, RunResult]:
    run.result.pending_approvals = [d.pending for d in waiting]
    for decision in waiting:
        call = decision.call
        yield Emit(ApprovalRequestedEvent(call["id"], call["function"]["name"], call["function"]["arguments"],
                                          run.agent.name), run)
    return run.result


def _execute(run: Run, step: Step) -> Generator[Any, Any, dict[str, Outcome]]:
    """Ordinary tools go to the driver as one batch; tools that run inside the loop (an agent used as a tool
    has `steps`) run nested, beside it, side by side when there are several (features/parallel.py)."""
    plain = [item for item in step.ready if not hasattr(item.tool, "steps")]
    nested = [item for item in step.ready if hasattr(item.tool, "steps")]
    try:
        jobs = [_ask(RunTools(plain, run))] if plain else []
        jobs += [item.tool.steps(item, run) for item in nested]
        if len(jobs) > 1:
            from ..features.parallel import interleave

            done = yield from interleave(jobs, passthrough=(Emit,))
        else:
            done = [(yield from jobs[0])] if jobs else []
    except BaseException:
        # Interrupted (Ctrl-C, cancellation, a consumer gone, a nested run stopped): answer every call so the
        # history stays valid.
        _commit(run, [step.message, *(messages.tool_result(c["id"], INTERRUPTED) for c in step.message["tool_calls"])])
        raise
    outcomes = dict(zip((item.call_id for item in plain), done[0] if plain else []))
    outcomes.update(zip((item.call_id for item in nested), done[1:] if plain else done))
    return outcomes


def _ask(request: Any) -> Generator[Any, Any, Any]:
    return (yield request)


def _record(decision: Decision, outcome: Outcome | None) -> FunctionCall:
    """The answer to one call: decided in advance, or what the call that ran gave."""
    if not isinstance(decision, RunIt):
        return decision.record
    call = decision.call
    if outcome is None or outcome.error is not None:
        return answer(call, f"Error: {_error_text(call, outcome.error if outcome else None)}", failed=True)
    value = outcome.value
    if _may_hold_parts(value):
        from ..features.content import record_parts  # images, audio, files: loaded only when a tool returns them

        done = record_parts(call, value)
        if done is not None:
            return done
    done = answer(call, messages.to_text(value))
    done.result = value
    return done


def _may_hold_parts(value: Any) -> bool:
    items = value if isinstance(value, (list, tuple)) else (value,)
    return any((isinstance(item, dict) and "type" in item) or hasattr(item, "part") for item in items)


def _error_text(call: dict, error: BaseException | None) -> str:
    from ..redaction import redact  # a tool's error text is stored and sent, and may quote a key it used

    kind = type(error).__name__ if error is not None else "an unknown error"
    return f"tool {call['function']['name']!r} raised {kind}: {redact(str(error))}"


def _attachments(records: list[FunctionCall]) -> list[dict]:
    if not any(record.attachments for record in records):
        return []
    from ..features.content import attachment_message

    return attachment_message(records)


def _hand_off(run: Run, decision: HandOff) -> Generator[Any, Any, None]:
    source, target = run.agent, decision.agent
    run.agent = run.result.last_agent = target
    run.first = True
    run.chain.append(target.name)
    yield Emit(AgentHandoffEvent(target.name, source.name), run)


def _commit(run: Run, new: list[dict]) -> None:
    if new:
        run.session.add_new_messages(new)
        run.result.new_messages.extend(new)
