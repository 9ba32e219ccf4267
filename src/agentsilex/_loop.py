"""The agent loop, written once, with no I/O.

`agent_loop` is a generator. It yields requests -- `ModelCall` (send back a ModelResponse), `RunTools`
(send back one Outcome per call, in order) and `Emit` (an event for the caller) -- and returns the
RunResult. Drivers in runner.py do the I/O (sync, async, streaming or not). The session is written
only here, and always in whole steps, so it stays valid whatever fails.

Each feature is a call out to its module in control/: handoffs, subagents (an agent used as a tool runs
here as a nested `yield from agent_loop(...)`), output, guardrails, approval, usage, hooks; planning
decides how each tool call of a step is answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generator

from . import messages
from .control import conversation, guardrails, handoffs, output, planning
from .control.approval import RunState, check_resumable
from .control.hooks import RunHooks
from .control.subagents import AgentTool, check_depth
from .control.usage import Budget, RunLimits
from .errors import (GuardrailTripped, HandoffLoopError, MaxAgentDepthExceeded, MaxTurnsExceeded,
                     UsageLimitExceeded, UserError)
from .events import AgentHandoffEvent, ApprovalRequestedEvent, Event, FinalResultEvent, ToolCallEvent, ToolResponseEvent
from .memory import prepare_history
from .models import Model, ModelRequest, ModelResponse, resolve_model
from .result import RunResult
from .session import Session
from .tool import Tool

INTERRUPTED = "Error: the tool call was interrupted before it finished; its result is unknown."
# Errors that stop the whole run, also from inside a nested agent (other failures of a nested agent
# become an "Error: ..." tool message for the calling agent, like any failing tool).
_RUN_STOPPERS = (GuardrailTripped, UsageLimitExceeded, HandoffLoopError, MaxAgentDepthExceeded, UserError)


@dataclass
class ModelCall:
    """Ask `model` for the next assistant message."""

    model: Model
    request: ModelRequest
    agent: Any


@dataclass
class ToolRun:
    """One validated tool call, ready to execute."""

    call_id: str
    tool: Tool
    arguments: dict[str, Any]
    context: Any

    def start(self) -> Any:
        return self.tool.invoke(self.arguments, self.context)


@dataclass
class RunTools:
    """Execute these calls (concurrently if the driver likes); answer with Outcomes in the same order."""

    calls: list[ToolRun]


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
    memory: list[Callable[[list[dict], Any], list[dict]]] = field(default_factory=list)  # see memory.py
    conversation_limits: conversation.ConversationLimits | None = None
    continue_agent: bool = True  # start with the conversation's current agent (control/conversation.py)


Request = ModelCall | RunTools | Emit


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
    view: Callable[[list[dict]], list[dict]] | None = None  # the input filter of the handoff in effect
    feedback: list[dict] = field(default_factory=list)  # a retry note for the next request only
    output_retries: int = 0

    @property
    def depth(self) -> int:
        return len(self.lineage) - 1


def agent_loop(agent: Any, prompt: str | RunState, *, session: Any, context: Any, options: LoopOptions,
               budget: Budget | None = None, lineage: list[str] | None = None
               ) -> Generator[Request, Any, RunResult]:
    """Model call -> tool calls -> model call ... until the model answers without tool calls."""
    if budget is None:  # the outermost run: the conversation decides who answers and counts what is spent
        agent = conversation.starting_agent(session, agent, prompt, options.continue_agent)
        budget = Budget(options.limits, conversation.Meter(session, options.conversation_limits))
    run = _Run(agent, session, context, options, RunResult(input=str(prompt), last_agent=agent),
               budget, [*(lineage or []), agent.name], [agent.name])
    top = run.depth == 0
    if top:
        options.hooks.on_run_start(context, agent, prompt)
    try:
        check_depth(run.lineage, options.max_agent_depth)
        result = yield from _turns(run, prompt)
    except Exception as exc:
        if top:
            if isinstance(exc, (GuardrailTripped, UsageLimitExceeded, HandoffLoopError)):
                exc.result = run.result  # the outermost run's partial result, whichever level raised
            options.hooks.on_error(context, run.agent, exc)
        raise
    finally:
        conversation.settle(run.budget.meter, top)  # store the conversation's usage, once per run
    if top:
        options.hooks.on_run_end(context, run.agent, result)
    return result


def _turns(run: _Run, prompt: str | RunState) -> Generator[Request, Any, RunResult]:
    done = None
    if isinstance(prompt, RunState):
        done = yield from _resume(run, prompt)
    else:
        _commit(run, [messages.user(prompt)])
        guardrails.check_input(run.agent, run.context, prompt)
    for _ in range(run.options.max_turns):
        if done is not None:
            break
        response = yield from _model_call(run)
        message = response.message
        if message.get("tool_calls"):
            done = yield from _tool_step(run, message, {})
        else:
            done = _final(run, message)
    if done is None:
        raise MaxTurnsExceeded(
            f"Agent {run.agent.name!r} did not give a final answer within max_turns={run.options.max_turns}. "
            "Raise Runner(max_turns=...) or simplify the task; the partial result is on .result.",
            result=run.result)
    if run.depth == 0 and not done.pending_approvals:
        yield Emit(FinalResultEvent(done.final_output, done))
    return done


def _model_call(run: _Run) -> Generator[Request, Any, ModelResponse]:
    agent, context, hooks = run.agent, run.context, run.options.hooks
    for callback in run.options.before_llm_call_callbacks:
        callback(run.session)
    instructions = agent.render_instructions(context)
    history = [messages.system(instructions)] if instructions else []
    dialogs = prepare_history(run.session, run.options.memory)  # a repaired copy, through the memory strategies
    history.extend(run.view(dialogs) if run.view else dialogs)
    history.extend(run.feedback)
    tools = agent.tool_specs(context) + [h.spec() for h in handoffs.handoffs_of(agent)]
    model = resolve_model(agent.model)
    request = output.prepare(ModelRequest(history, tools, agent.model_settings), agent, model)
    request = hooks.before_model_call(context, agent, request) or request
    run.budget.check_request(request, model.name)  # before sending, from an estimate
    response = yield ModelCall(model, request, agent)
    run.feedback = []
    entry = run.result.usage.add_request(response.usage, agent=agent.name, model=model.name)
    hooks.after_model_call(context, agent, response)
    run.budget.charge_request(entry)
    return response


def _final(run: _Run, message: dict) -> RunResult | None:
    """The model answered without tool calls: validate, guard, commit. None means "retry"."""
    value, problem = output.parse(run.agent, message.get("content"))
    if problem is not None:
        planning.count_output_retry(run, problem)
        has_tools = bool(run.agent.tools or run.agent.handoffs)
        mode = output.mode_for(run.agent, resolve_model(run.agent.model), has_tools)
        run.feedback = [message, messages.user(output.retry_note(problem, mode))]
        return None
    guardrails.check_output(run.agent, run.context, value)
    _commit(run, [message])
    run.result.final_output = value
    return run.result


def _tool_step(run: _Run, message: dict, decisions: dict[str, dict],
               resumed: bool = False) -> Generator[Request, Any, RunResult | None]:
    """Run one assistant message's tool calls; commit the message together with every answer."""
    calls = message["tool_calls"]
    for call in calls if not resumed else ():  # a resumed step's calls were announced at the pause
        yield Emit(ToolCallEvent(call["id"], call["function"]["name"], call["function"]["arguments"],
                                 run.agent.name))
    plan = planning.plan(run, calls, decisions)
    if plan.pending:  # nothing runs and nothing is committed until a human decides
        run.result.pending_approvals = plan.pending
        run.result.state = RunState(run.agent.name, run.result.input, message, plan.pending,
                                    run.result.total_usage, list(run.chain), run.budget.spent())
        conversation.paused(run.session, run.result.state)
        for item in plan.pending:
            yield Emit(ApprovalRequestedEvent(item.call_id, item.tool_name, item.arguments, item.agent))
        return run.result
    ready = [ToolRun(call_id, found, arguments, run.context) for call_id, found, arguments in plan.ready]
    run.budget.charge_tool_calls(len(ready))
    for item in ready:  # every guardrail before any hook or tool: a trip leaves nothing half-started
        guardrails.check_tool(item.tool, run.context, item.call_id, item.arguments)
    for item in ready:
        run.options.hooks.before_tool_call(run.context, run.agent, item.tool.name, item.arguments)
    outcomes = yield from _execute(run, message, ready)
    for item in ready:
        if outcomes[item.call_id].error is None:
            guardrails.check_tool(item.tool, run.context, item.call_id, item.arguments,
                                  result=outcomes[item.call_id].value, after=True)
    if plan.answer:  # a final_answer tool call: its output is checked before the step is committed
        guardrails.check_output(run.agent, run.context, plan.answer[0])
    records = [plan.done.get(c["id"]) or planning.record(c, outcomes[c["id"]].value, outcomes[c["id"]].error)
               for c in calls]
    _commit(run, [message] + [messages.tool_result(r.call_id, r.content) for r in records])
    run.result.function_calls.extend(records)
    for record in records:
        if record.call_id in outcomes:
            run.options.hooks.after_tool_call(run.context, run.agent, record.name, record)
        yield Emit(ToolResponseEvent(record.call_id, record.name, record.content, record.error, run.agent.name))
    if run.options.raise_tool_errors:
        planning.raise_first_error(records, {i: o.error for i, o in outcomes.items()}, plan.errors)
    if plan.handoff is not None:
        yield from _hand_off(run, plan.handoff)
    if plan.answer:
        run.result.final_output = plan.answer[0]
        return run.result
    return None


def _execute(run: _Run, message: dict, ready: list[ToolRun]) -> Generator[Request, Any, dict[str, Outcome]]:
    """Ordinary tools go to the driver as one batch; agents used as tools run here, nested."""
    tools = [item for item in ready if not isinstance(item.tool, AgentTool)]
    try:
        outcomes = list((yield RunTools(tools))) if tools else []
        by_id = {item.call_id: outcome for item, outcome in zip(tools, outcomes)}
        for item in ready:
            if isinstance(item.tool, AgentTool):
                by_id[item.call_id] = yield from _run_agent_tool(run, item)
    except BaseException:
        # Interrupted (Ctrl-C, cancellation, a consumer gone, a nested run stopped): answer every call
        # so the history stays valid.
        _commit(run, [message] + [messages.tool_result(c["id"], INTERRUPTED) for c in message["tool_calls"]])
        raise
    return by_id


def _run_agent_tool(run: _Run, item: ToolRun) -> Generator[Request, Any, Outcome]:
    """An agent used as a tool: the same loop, nested, on a scratch session, in the caller's mode."""
    try:
        assert isinstance(item.tool, AgentTool)
        child = yield from agent_loop(item.tool.agent, item.arguments["input"], session=Session(),
                                      context=run.context, options=run.options, budget=run.budget,
                                      lineage=run.lineage)
    except _RUN_STOPPERS:
        raise
    except Exception as exc:
        partial = getattr(exc, "result", None)  # e.g. MaxTurnsExceeded: what the sub-agent spent still counts
        if isinstance(partial, RunResult):
            run.result.usage.merge(partial.usage)
        return Outcome(error=exc)
    run.result.usage.merge(child.usage)
    return Outcome(value=child.final_output)


def _hand_off(run: _Run, chosen: handoffs.Handoff) -> Generator[Request, Any, None]:
    source, target = run.agent, chosen.agent
    run.options.hooks.on_handoff(run.context, source, target)
    if chosen.on_handoff is not None:
        chosen.on_handoff(run.context)
    run.agent, run.view, run.output_retries = target, chosen.input_filter, 0
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
    try:
        return (yield from _tool_step(run, state.message, state.decisions, resumed=True))
    finally:
        conversation.resumed(run.session, state, run.result.new_messages)


def _commit(run: _Run, new: list[dict]) -> None:
    if new:
        run.session.add_new_messages(new)
        run.result.new_messages.extend(new)
