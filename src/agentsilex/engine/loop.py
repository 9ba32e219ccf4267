"""The agent loop, written once, with no I/O.

`agent_loop` is a generator. It yields requests -- `ModelCall` (send back a ModelResponse), `RunTools`
(send back one Outcome per call, in order), `Batch` (several of those at once: one Outcome each) and
`Emit` (an event for the caller) -- and returns the RunResult. Drivers in runner.py do the I/O (sync,
async, streaming or not). The session is written only here, and always in whole steps, so it stays valid
whatever fails.

What the next request holds is decided in one place, `build_request` (_request.py). Each feature is a call
out to its module in control/: handoffs, subagents (an agent used as a tool runs here as a nested
`yield from agent_loop(...)`; several in one step run side by side, _parallel.py), output, guardrails,
approval, usage, hooks; planning decides, with one typed decision per call, how each tool call is answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Generator

from .. import messages
from ..features.parallel import Batch, ask, interleave
from .request import ModelCall, Processor, build_request, input_filter, output_mode, retry_note, session_processors
from ..agent import check_context
from ..features.content import attachment_message
from ..features import conversation, guardrails, handoffs, output
from . import planning
from ..features.approval import PendingApproval, RunState, check_resumable
from ..features.guards import Deadline, RepeatPolicy, RepeatTracker
from ..features.hooks import RunHooks
from .planning import AlreadyAnswered, AwaitApproval, FinalAnswer, HandOff, RunIt
from ..features.agents_as_tools import AgentTool, check_depth
from ..features.usage import Budget, RunLimits
from ..errors import GuardrailTripped, HandoffLoopError, MaxAgentDepthExceeded, MaxTurnsExceeded, ResponseFormatNotSupportedError, RunTimeoutError, UsageLimitExceeded, UserError
from ..events import AgentHandoffEvent, ApprovalRequestedEvent, Event, FinalResultEvent, ToolCallEvent, ToolResponseEvent
from ..messages import INTERRUPTED
from ..models import ModelRequest, ModelResponse, resolve_model
from ..result import RunResult
from ..session import Session
from ..tool import Tool
from ..tracing import setup as tracing

if TYPE_CHECKING:  # the spans module loads only when tracing is on (tracing/spans.py)
    from ..tracing.spans import RunTrace

__all__ = ["ModelCall", "RunTools", "Batch", "Emit", "ToolRun", "Outcome", "LoopOptions", "agent_loop", "INTERRUPTED"]
# Errors that stop the whole run, also from inside a nested agent (other failures of a nested agent
# become an "Error: ..." tool message for the calling agent, like any failing tool).
_RUN_STOPPERS = (GuardrailTripped, UsageLimitExceeded, HandoffLoopError, MaxAgentDepthExceeded, UserError,
                 RunTimeoutError)


@dataclass
class ToolRun:
    """One validated tool call, ready to execute."""

    call_id: str
    tool: Tool
    arguments: dict[str, Any]
    context: Any
    trace: RunTrace | None = None  # the run's spans, when tracing is on (the driver opens the tool's span)

    def start(self) -> Any:
        return self.tool.invoke(self.arguments, self.context)


@dataclass
class RunTools:
    """Execute these calls (concurrently if the driver likes); answer with Outcomes in the same order."""

    calls: list[ToolRun]
    deadline: float | None = None  # time.monotonic() by which every call must end (Runner(run_timeout=...))


@dataclass
class Emit:
    """Hand an event to the caller."""

    event: Event


@dataclass(frozen=True)
class Outcome:
    """What one tool call produced: a value, or the exception it raised."""

    value: Any = None
    error: Exception | None = None


@dataclass
class LoopOptions:
    max_turns: int = 10
    raise_tool_errors: bool = False
    before_llm_call_callbacks: list[Callable[[Any], Any]] = field(default_factory=list)
    hooks: RunHooks = field(default_factory=RunHooks)
    limits: RunLimits | None = None
    max_handoffs: int = 10
    max_agent_depth: int = 3
    memory: list[Callable[[list[dict], Any], Any]] = field(default_factory=list)  # see memory.py
    history_processors: list[Processor] = field(default_factory=list)  # see _request.py
    model_timeout: float | None = None  # carried on each request (see the Model protocol)
    stream_idle_timeout: float | None = None
    connect_timeout: float | None = None
    run_timeout: float | None = None  # seconds for the whole run (control/guards.py)
    repeats: RepeatPolicy | None = None  # identical consecutive tool calls (control/guards.py)
    conversation_limits: conversation.ConversationLimits | None = None
    continue_agent: bool = True  # start with the conversation's current agent (control/conversation.py)
    approval_key: bytes | None = None  # signs a paused run's state (Runner(approval_key=...))


Request = ModelCall | RunTools | Batch | Emit


@dataclass
class _Run:
    """The moving parts of one run; a nested agent gets its own, sharing context, options and budget."""

    agent: Any
    session: Any
    context: Any
    options: LoopOptions
    result: RunResult
    budget: Budget
    lineage: list[str]  # the nesting of agents used as tools, outermost first
    chain: list[str] = field(default_factory=list)  # the agents this run handed off through
    processors: list[Processor] = field(default_factory=list)  # callbacks, memory, the Runner's processors
    view: Processor | None = None  # the input filter of the handoff in effect
    feedback: Processor | None = None  # a retry note for the next request only
    output_retries: int = 0
    repeats: RepeatTracker = field(default_factory=lambda: RepeatTracker(None))
    first: bool = True  # the current agent has not made a request yet (its tool_choice may force a call)
    trace: RunTrace | None = None  # this run's spans, when tracing is on (tracing/spans.py)

    @property
    def depth(self) -> int:
        return len(self.lineage) - 1


def agent_loop(agent: Any, prompt: str | list[dict] | RunState, *, session: Any, context: Any, options: LoopOptions,
               budget: Budget | None = None, lineage: list[str] | None = None, trace_parent: Any = None
               ) -> Generator[Request, Any, RunResult]:
    """Model call -> tool calls -> model call ... until the model answers without tool calls."""
    if budget is None:  # the outermost run: the conversation decides who answers and counts what is spent
        agent, budget = conversation.start(session, agent, prompt, options)
    run = _Run(agent, session, context, options,
               RunResult(input=prompt if isinstance(prompt, list) else str(prompt), last_agent=agent),
               budget, [*(lineage or []), agent.name], [agent.name],
               session_processors(session, callbacks=options.before_llm_call_callbacks, memory=options.memory,
                                  history_processors=options.history_processors))
    top = run.depth == 0
    run.repeats = RepeatTracker(options.repeats)
    if trace_parent is not None or (top and tracing.active_tracer() is not None):
        from ..tracing.spans import RunTrace

        run.trace = RunTrace(agent, session, trace_parent, prompt)
    if top:
        run.budget.deadline = Deadline(options.run_timeout)
        check_context(agent, context)  # a tool declaring another context type: refused before any request
        options.hooks.on_run_start(context, agent, prompt)
    try:
        check_depth(run.lineage, options.max_agent_depth)
        result = yield from _turns(run, prompt)
    except BaseException as exc:
        if run.trace is not None:
            run.trace.end(exc)
        if top and isinstance(exc, Exception):
            if isinstance(exc, (GuardrailTripped, UsageLimitExceeded, HandoffLoopError, RunTimeoutError)):
                exc.result = run.result  # the outermost run's partial result, whichever level raised
            options.hooks.on_error(context, run.agent, exc)
        raise
    finally:
        conversation.settle(run.budget.meter, top)  # store the conversation's usage, once per run
    if run.trace is not None:
        run.trace.end()
    if top:
        options.hooks.on_run_end(context, run.agent, result)
    return result


def _turns(run: _Run, prompt: str | list[dict] | RunState) -> Generator[Request, Any, RunResult]:
    done = None
    if isinstance(prompt, RunState):
        done = yield from _resume(run, prompt)
    else:
        _commit(run, [messages.user(prompt)])
        guardrails.check_input(run.agent, run.context, prompt)
    for _ in range(run.options.max_turns):
        if done is not None:
            break
        request, response = yield from _model_call(run)
        message = response.message
        if message.get("tool_calls"):
            offered = tuple(spec["function"]["name"] for spec in request.tools)
            done = yield from _tool_step(run, message, request.output_mode, {}, offered)
        else:
            done = _final(run, message, request.output_mode)
    if done is None:
        raise MaxTurnsExceeded(
            f"Agent {run.agent.name!r} did not give a final answer within max_turns={run.options.max_turns}. "
            "Raise Runner(max_turns=...) or simplify the task; the partial result is on .result.",
            result=run.result)
    if run.depth == 0 and not done.pending_approvals:
        yield Emit(FinalResultEvent(done.final_output, done, done.finish_reason))
    return done


def _model_call(run: _Run) -> Generator[Request, Any, tuple[ModelRequest, ModelResponse]]:
    """Build the request (_request.py: everything that decides what is sent), call the model, count usage."""
    agent, context, options = run.agent, run.context, run.options
    model = resolve_model(agent.model)
    deadline = run.budget.deadline
    deadline.check(run.result)
    processors = run.processors
    if run.view is not None or run.feedback is not None:  # this agent's view, then the retry note
        processors = [*processors, *(p for p in (run.view, run.feedback) if p is not None)]
    run.budget.check_prices(agent, model)  # a cost limit needs prices: refuse before the first paid request
    request = yield from build_request(agent, model, run.session, context, processors=processors,
                                       hooks=options.hooks, timeout=options.model_timeout,
                                       idle_timeout=options.stream_idle_timeout,
                                       connect_timeout=options.connect_timeout, trace=run.trace, first=run.first)
    try:
        try:
            response = yield from _send(run, model, request, deadline)
        except ResponseFormatNotSupportedError as exc:  # the server takes no response_format: ask in words
            request = output.without_response_format(request, agent, model, exc)
            response = yield from _send(run, model, request, deadline)
    except Exception as exc:
        deadline.check(run.result, exc)  # a wait cut short by the deadline is the run's timeout
        raise
    run.feedback, run.first, run.result.finish_reason = None, False, response.finish_reason
    entry = run.result.usage.add_request(response.usage, agent=agent.name, model=model.name)
    options.hooks.after_model_call(context, agent, response)
    run.budget.charge_request(entry)
    return request, response


def _send(run: _Run, model: Any, request: ModelRequest, deadline: Deadline) -> Generator[Request, Any, ModelResponse]:
    """Cap the request's waits at the run's deadline, check it against the limits (an estimate), send it."""
    deadline.cap(request)  # no wait outlives the run
    run.budget.check_request(request, model.name)  # before sending, from an estimate
    return (yield ModelCall(model, request, run.agent, deadline=deadline.at, trace=run.trace))


def _final(run: _Run, message: dict, mode: str | None) -> RunResult | None:
    """The model answered without tool calls: validate, guard, commit. None means "retry"."""
    value, problem = output.parse(run.agent, message.get("content"), truncated=run.result.finish_reason == "length")
    if problem is not None:
        output.count_retry(run, problem)
        run.feedback = retry_note(message, output.retry_note(problem, mode))
        return None
    guardrails.check_output(run.agent, run.context, value)
    _commit(run, [message])
    run.result.final_output = value
    return run.result


def _tool_step(run: _Run, message: dict, mode: str | None, approvals: dict[str, dict],
               offered: tuple[str, ...] | None, resumed: bool = False) -> Generator[Request, Any, RunResult | None]:
    """One assistant message's tool calls: decide -> pause? -> guard -> execute -> record -> commit -> emit."""
    calls = message["tool_calls"]
    for call in calls if not resumed else ():  # a resumed step's calls were announced at the pause
        yield Emit(ToolCallEvent(call["id"], call["function"]["name"], call["function"]["arguments"],
                                 run.agent.name))
    repeated = run.repeats.check(calls, run.result) if not approvals else {}  # may stop the run
    # Decide: one typed decision per call (control/planning.py).
    view = planning.StepView(run.agent, run.context, tuple(run.chain), run.options.max_handoffs, mode, run.depth > 0,
                             offered, repeated, run.result.finish_reason == "length")
    decided = planning.decide(calls, view, approvals)
    for decision in decided:
        if isinstance(decision, AlreadyAnswered) and decision.invalid_output is not None:
            output.count_retry(run, decision.invalid_output)
    # Pause? Nothing runs and nothing is committed until a human decides.
    waiting = [d.pending for d in decided if isinstance(d, AwaitApproval)]
    if waiting:
        return (yield from _pause(run, message, waiting, offered))
    # Guard: every guardrail before any hook or tool, so a trip leaves nothing half-started.
    ready = [ToolRun(d.call["id"], d.tool, d.arguments, run.context, run.trace)
             for d in decided if isinstance(d, RunIt)]
    answer = next((d for d in decided if isinstance(d, FinalAnswer)), None)
    guardrails.before_tools(run, ready)
    # Execute.
    outcomes = yield from _execute(run, message, ready)
    if answer is None and run.agent.tool_use_behavior == "stop_on_first_tool":
        answer = planning.first_result(decided, outcomes)
    guardrails.after_tools(run, ready, outcomes, answer)
    # Record and commit: the message together with every answer, in one step.
    records = [planning.record(d, *_value_and_error(outcomes.get(d.call["id"]))) for d in decided]
    _commit(run, [message] + [messages.tool_result(r.call_id, r.content) for r in records]
            + attachment_message(records))  # parts a tool returned, after the results (content.py)
    run.result.function_calls.extend(records)
    # Emit.
    for record in records:
        if record.call_id in outcomes:
            run.options.hooks.after_tool_call(run.context, run.agent, record.name, record)
        yield Emit(ToolResponseEvent(record.call_id, record.name, record.content, record.error, run.agent.name,
                                     record.attachments))
    if run.options.raise_tool_errors:
        planning.raise_first_error(decided, {i: o.error for i, o in outcomes.items()}, records)
    handoff = next((d for d in decided if isinstance(d, HandOff)), None)
    if handoff is not None:
        yield from _hand_off(run, handoff.handoff)
    if answer is not None:
        run.result.final_output = answer.value
        return run.result
    return None


def _pause(run: _Run, message: dict, waiting: list[PendingApproval],
           offered: tuple[str, ...] | None) -> Generator[Request, Any, RunResult]:
    if run.trace is not None:
        run.trace.paused(waiting)
    run.result.pending_approvals = waiting
    state = RunState(run.agent.name, run.result.input, message, waiting, run.result.total_usage, list(run.chain),
                     run.budget.spent(), offered=None if offered is None else list(offered))
    run.result.state = conversation.paused(run.session, state, run.options.approval_key)  # signed and kept
    for item in waiting:
        yield Emit(ApprovalRequestedEvent(item.call_id, item.tool_name, item.arguments, item.agent))
    return run.result


def _value_and_error(outcome: Outcome | None) -> tuple[Any, BaseException | None]:
    return (None, None) if outcome is None else (outcome.value, outcome.error)


def _execute(run: _Run, message: dict, ready: list[ToolRun]) -> Generator[Request, Any, dict[str, Outcome]]:
    """Ordinary tools go to the driver as one batch; agents used as tools run nested, beside it (_parallel.py)."""
    tools = [item for item in ready if not isinstance(item.tool, AgentTool)]
    agents = [item for item in ready if isinstance(item.tool, AgentTool)]
    run.budget.deadline.check(run.result)  # before anything starts: the step is not committed
    try:
        jobs = [ask(RunTools(tools, run.budget.deadline.at))] if tools else []
        jobs += [_run_agent_tool(run, item) for item in agents]
        done = (yield from interleave(jobs, passthrough=(Emit,))) if jobs else []
        by_id = dict(zip((item.call_id for item in tools), done[0] if tools else []))
        by_id.update(zip((item.call_id for item in agents), done[1:] if tools else done))
    except BaseException:
        # Interrupted (Ctrl-C, cancellation, a consumer gone, a nested run stopped): answer every call
        # so the history stays valid.
        _commit(run, [message] + [messages.tool_result(c["id"], INTERRUPTED) for c in message["tool_calls"]])
        raise
    return by_id


def _run_agent_tool(run: _Run, item: ToolRun) -> Generator[Request, Any, Outcome]:
    """An agent used as a tool: the same loop, nested, on a scratch session, in the caller's mode."""
    trace = run.trace
    span = None if trace is None else trace.tool(item.tool, item.call_id, item.arguments)
    try:
        assert isinstance(item.tool, AgentTool)
        child = yield from agent_loop(item.tool.agent, item.arguments["input"], session=Session(),
                                      context=run.context, options=run.options, budget=run.budget,
                                      lineage=run.lineage, trace_parent=span)
    except BaseException as exc:
        if trace is not None:
            trace.tool_done(span, error=exc)
        if isinstance(exc, _RUN_STOPPERS) or not isinstance(exc, Exception):
            raise
        partial = getattr(exc, "result", None)  # e.g. MaxTurnsExceeded: what the sub-agent spent still counts
        if isinstance(partial, RunResult):
            run.result.usage.merge(partial.usage)
        return Outcome(error=exc)
    if trace is not None:
        trace.tool_done(span, child.final_output)
    run.result.usage.merge(child.usage)
    return Outcome(value=child.final_output)


def _hand_off(run: _Run, chosen: handoffs.Handoff) -> Generator[Request, Any, None]:
    source, target = run.agent, chosen.agent
    run.options.hooks.on_handoff(run.context, source, target)
    if run.trace is not None:
        run.trace.handoff(source, target)
    if chosen.on_handoff is not None:
        chosen.on_handoff(run.context)
    run.agent, run.output_retries, run.first = target, 0, True
    run.view = input_filter(chosen.input_filter) if chosen.input_filter is not None else None
    run.chain.append(target.name)
    run.result.last_agent = target
    conversation.handed_off(run.session, target, run.depth)  # later runs continue with the target too
    yield Emit(AgentHandoffEvent(target.name, source.name))


def _resume(run: _Run, state: RunState) -> Generator[Request, Any, RunResult | None]:
    """Continue a run paused for approval: answer the waiting step with the human's decisions."""
    check_resumable(state, run.session.get_dialogs())
    run.agent = run.result.last_agent = handoffs.find_agent(run.agent, state.agent)
    run.chain, run.result.input, run.result.usage_before_pause = list(state.chain), state.input, state.usage
    run.budget.restore(state.spent)  # a resumed run is the same run: its limits count what was spent before
    mode = output_mode(run.agent, resolve_model(run.agent.model))  # the mode the paused step was asked in
    run.first = False
    offered = None if state.offered is None else tuple(state.offered)
    try:
        return (yield from _tool_step(run, state.message, mode, state.decisions, offered, resumed=True))
    finally:
        conversation.resumed(run.session, state, run.result.new_messages)


def _commit(run: _Run, new: list[dict]) -> None:
    if new:
        run.session.add_new_messages(new)
        run.result.new_messages.extend(new)
