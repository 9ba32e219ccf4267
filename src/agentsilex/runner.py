"""`Runner`: checks its options, assembles each run's capabilities from what is configured, and picks a driver.

A run is the one agent loop (engine/loop.py), wrapped by its capabilities' wraps and by the session's writer lock,
driven by the sync or the async driver (engine/drivers.py). A feature is imported only when a run needs it:

    history processors  before_llm_call_callbacks, memory or history_processors given   features/memory.py
    limits              budgets, a run timeout or the repeated-call guard set             features/limits.py
    handoffs            an agent reachable in the run has handoffs                        features/handoffs.py
    structured output   an agent has an output_type (not None or str)                     features/output.py
    approval            a tool that needs approval, or a RunState to resume               features/approval.py
    guardrails          any input, output or tool guardrail                               features/guardrails.py
    conversation usage  Runner(conversation=True) or conversation_limits                  features/conversation.py
    cache markers       ModelSettings(prompt_cache=True)                                  features/cache.py
    your capabilities   Runner(capabilities=[...])
    hooks               Runner(hooks=...)                                                 features/hooks.py
    tracing, DEBUG log  a tracer is set up / the "agentsilex" logger is at DEBUG          tracing/
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Sequence

from .agent import reachable
from .engine.capability import Capability
from .engine.drivers import AsyncRunStream, RunStream
from .engine.loop import Loop, LoopOptions, Run, agent_loop
from .engine.tool_calls import Limits, Timeouts
from .errors import UserError
from .models.retry import RetryPolicy
from .result import RunResult
from .session import Session, hold_writer_lock

_TIMEOUTS = {"model_timeout": "model", "stream_idle_timeout": "stream_idle", "connect_timeout": "connect",
             "tool_timeout": "tool", "run_timeout": "run"}
_LIMITS = {"max_handoffs": 10, "max_agent_depth": 3, "max_parallel_tools": 8, "max_repeated_tool_calls": None,
           "on_repeated_tool_call": "raise"}


class Runner:
    """Runs agents on a session: `Runner(session).run(agent, prompt)`.

    Options, all keyword-only: the seed's `max_turns` and `before_llm_call_callbacks`; `capabilities` (your own
    features), `hooks`; `memory` and `history_processors` (what is sent); `limits` (a RunLimits: budgets, the
    repeated-call guard, handoff and nesting limits, parallel tools), `conversation_limits`, `timeouts` (a
    Timeouts), `retry` (a RetryPolicy); `conversation=True` keeps the conversation's usage with the session,
    `continue_agent` (after a handoff, later runs start with that agent), `approval_key`, `raise_tool_errors`.
    The older flat keywords still work: model_timeout, stream_idle_timeout, connect_timeout, tool_timeout,
    run_timeout, max_handoffs, max_agent_depth, max_parallel_tools, max_repeated_tool_calls, on_repeated_tool_call.
    """

    def __init__(self, session: Any = None, context: Any = None, *, max_turns: int = 10,
                 before_llm_call_callbacks: list[Callable[[Any], Any]] | None = None,
                 capabilities: Sequence[Any] = (), hooks: Any = None,
                 memory: Any = None, history_processors: list[Callable[[list[dict], Any], Any]] | None = None,
                 limits: Any = None, conversation_limits: Any = None, timeouts: Timeouts | None = None,
                 retry: RetryPolicy | None = None, conversation: bool = False, continue_agent: bool = True,
                 approval_key: str | bytes | None = None, raise_tool_errors: bool = False, **flat: Any) -> None:
        _check_session(session)
        self.session = session if session is not None else Session()
        # Shared and mutable: tools, turns and sub-agents all see (and may change) the same object.
        self.context = context if context is not None else {}
        self.timeouts = _timeouts(timeouts, flat)
        self.limits, self.settings = limits, _settings(limits, flat)
        self.conversation_limits, self.conversation = conversation_limits, bool(conversation)
        self.continue_agent, self.hooks = continue_agent, hooks
        self.capabilities = _capabilities(capabilities)
        self.processors = _processors(before_llm_call_callbacks, memory, history_processors)
        self.approval_key = None
        if approval_key is not None:  # signs paused runs (features/approval.py)
            from .features.approval import resolve_key

            self.approval_key = resolve_key(approval_key)
        self.options = LoopOptions(max_turns=_count("max_turns", max_turns, 1), raise_tool_errors=raise_tool_errors,
                                   model_timeout=self.timeouts.model, stream_idle_timeout=self.timeouts.stream_idle,
                                   connect_timeout=self.timeouts.connect, settings=self.settings)
        # How the drivers do I/O: concurrency, timeouts, retries.
        self.execution = Limits(max_parallel_tools=self.settings["max_parallel_tools"], tool_timeout=self.timeouts.tool,
                                model_timeout=self.timeouts.model, stream_idle_timeout=self.timeouts.stream_idle,
                                connect_timeout=self.timeouts.connect, retry=retry if retry is not None else RetryPolicy())
        self._check_features()

    def run(self, agent: Any, prompt: Any) -> RunResult:
        """Run to the final answer and return the result."""
        stream = RunStream(self._loop(agent, prompt), stream_model=False, limits=self.execution)
        for _ in stream:
            pass
        return stream.result

    def run_stream(self, agent: Any, prompt: Any) -> RunStream:
        """Iterate over events as they happen; `.result` is available when the iteration ends."""
        return RunStream(self._loop(agent, prompt), stream_model=True, limits=self.execution)

    async def run_async(self, agent: Any, prompt: Any) -> RunResult:
        """`run`, for asyncio code."""
        stream = AsyncRunStream(self._loop(agent, prompt), stream_model=False, limits=self.execution)
        async for _ in stream:
            pass
        return stream.result

    def run_stream_async(self, agent: Any, prompt: Any) -> AsyncRunStream:
        """`run_stream`, for asyncio code: `async for event in runner.run_stream_async(...)`."""
        return AsyncRunStream(self._loop(agent, prompt), stream_model=True, limits=self.execution)

    def _loop(self, agent: Any, prompt: Any) -> Any:
        if not hasattr(agent, "render_instructions"):
            raise UserError(f"run() needs an Agent first, got {agent!r:.80}; call runner.run(agent, prompt).")
        resuming = _is_instance(prompt, "agentsilex.features.approval", "RunState")
        if not resuming and not isinstance(prompt, str):
            from .features.content import normalize_prompt  # content parts (or a clear error)

            prompt = normalize_prompt(prompt)
        needs = self._needs(agent)
        if "handoffs" in needs and self.continue_agent and not resuming:
            from .features.handoffs import next_agent  # a handoff in an earlier run: that agent answers

            agent = next_agent(self.session, agent)
        capabilities = self._assemble(needs, prompt if resuming else None)
        run = Run(agent, self.session, self.context, prompt, options=LoopOptions(**{
            **vars(self.options), "capabilities": capabilities}))
        loop = Loop(agent_loop(run), run)
        for wrap in run.plugs["wrap"]:  # the first capability's wrap is innermost, the last's outermost
            loop = Loop(wrap(loop), run)
        return hold_writer_lock(self.session, loop)  # one run at a time per session (session.py)

    def _needs(self, agent: Any) -> set[str]:
        """The features the agents of this run use (checking each tool accepts the run context on the way)."""
        needs: set[str] = set()
        for each in reachable(agent):
            needs.update(name for name, used in (
                ("handoffs", each.handoffs), ("output", each.output_type not in (None, str)),
                ("guardrails", each.input_guardrails or each.output_guardrails),
                ("cache", each.model_settings.prompt_cache)) if used)
            for item in each._index().values():
                item.check_context(self.context)  # a tool declaring another context type: refused before any request
                needs.update(name for name, used in (("approval", item.needs_approval), (
                    "guardrails", item.input_guardrails or item.output_guardrails)) if used)
        return needs

    def _assemble(self, needs: set[str], state: Any) -> list[Any]:
        """This run's capabilities, in order (see engine/capability.py for what the order means)."""
        found: list[Any] = []
        if self.processors:
            from .features.memory import HistoryProcessors

            found.append(HistoryProcessors(self.processors))
        if self._limited():
            from .features.limits import RunGuards

            found.append(RunGuards(self.limits, self.timeouts.run, self.settings))
        if "handoffs" in needs:
            from .features.handoffs import Handoffs

            found.append(Handoffs())
        if "output" in needs:
            from .features.output import StructuredOutput

            found.append(StructuredOutput())
        if "approval" in needs or state is not None:
            from .features.approval import Approval

            found.append(Approval(self.approval_key, state))
        if "guardrails" in needs:
            from .features.guardrails import Guardrails

            found.append(Guardrails())
        if self.conversation or self.conversation_limits is not None:
            from .features.conversation import UsageMeter

            found.append(UsageMeter(self.conversation_limits))
        if "cache" in needs:
            from .features.cache import CacheMarkers

            found.append(CacheMarkers())
        found.extend(self.capabilities)
        if self.hooks is not None:
            from .features.hooks import HooksCapability

            found.append(HooksCapability(self.hooks))
        return found + _observers()

    def _limited(self) -> bool:
        budgets = self.limits is not None and any(getattr(self.limits, name) is not None for name in (
            "max_total_tokens", "max_tool_calls", "max_cost_usd"))
        return budgets or self.timeouts.run is not None or self.settings["max_repeated_tool_calls"] is not None

    def _check_features(self) -> None:
        """Options a feature checks itself are checked now, before anything runs (each loads that feature)."""
        if self.limits is not None or self.settings["max_repeated_tool_calls"] is not None:
            from .features.limits import check_options

            check_options(self.limits, self.settings)
        if self.conversation_limits is not None:
            from .features.limits import ConversationLimits

            if not isinstance(self.conversation_limits, ConversationLimits):
                raise UserError("Runner(conversation_limits=...) must be a ConversationLimits, "
                                f"got {self.conversation_limits!r}.")
        if self.hooks is not None:
            from .features.hooks import RunHooks

            if not isinstance(self.hooks, RunHooks):
                raise UserError(f"hooks must be a RunHooks (subclass it), got {type(self.hooks).__name__}.")


def _observers() -> list[Any]:
    """Tracing and the DEBUG request log, when on (a cached check that imports nothing while they are off)."""
    found = []
    if "agentsilex.tracing.setup" in sys.modules or "opentelemetry.trace" in sys.modules or any(
            name.startswith("OTEL_EXPORTER_OTLP") for name in os.environ):
        from .tracing.setup import active_tracer

        if active_tracer() is not None:
            from .tracing.capability import Tracing

            found.append(Tracing())
    if _logger_debug():
        from .tracing.log import RequestLog

        found.append(RequestLog())
    return found


def _logger_debug() -> bool:
    logging = sys.modules.get("logging")  # not imported: nothing configured it
    return logging is not None and logging.getLogger("agentsilex").isEnabledFor(logging.DEBUG)


def _is_instance(value: Any, module: str, name: str) -> bool:
    """isinstance(value, module.name), without importing the module (if it is not loaded, value is not one)."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(value, getattr(loaded, name))


def _check_session(session: Any) -> None:
    if session is not None and not all(callable(getattr(session, name, None))
                                       for name in ("get_dialogs", "add_new_messages")):
        raise UserError(f"session must be a Session or a session store (e.g. SQLiteSession(id, path)), got "
                        f"{session!r:.100}.")


def _count(name: str, value: Any, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise UserError(f"{name} must be a whole number of at least {least}, got {value!r}.")
    return value


def _timeouts(timeouts: Timeouts | None, flat: dict[str, Any]) -> Timeouts:
    if timeouts is not None and not isinstance(timeouts, Timeouts):
        raise UserError(f"timeouts must be a Timeouts(...), got {timeouts!r}.")
    given = {name: flat.pop(name) for name in list(flat) if name in _TIMEOUTS}
    for name, value in given.items():  # a flat keyword is checked under its own name
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise UserError(f"{name} must be a positive number of seconds or None, got {value!r}.")
    base = vars(timeouts) if timeouts is not None else {}
    return Timeouts(**{**base, **{_TIMEOUTS[name]: value for name, value in given.items()}})


def _settings(limits: Any, flat: dict[str, Any]) -> dict[str, Any]:
    """The structural limits: from the RunLimits if given, a flat keyword overriding it, else the defaults."""
    settings = {name: flat.pop(name, getattr(limits, name, default)) for name, default in _LIMITS.items()}
    if flat:
        unknown = ", ".join(sorted(flat))
        raise UserError(f"Runner() got unknown option(s): {unknown}. See help(Runner) for the options.")
    for name in ("max_handoffs", "max_agent_depth"):
        _count(name, settings[name], 0)
    return settings


def _capabilities(given: Sequence[Any]) -> list[Any]:
    if isinstance(given, (str, bytes)) or not isinstance(given, (list, tuple)):
        raise UserError(f"capabilities must be a list of capability objects, got {given!r:.80}.")
    for item in given:
        if not any(callable(getattr(item, name, None)) for name in ("prepare", "decide", "guard", "wrap")):
            raise UserError(f"{item!r:.80} is not a capability: give it at least one of prepare, decide, guard or "
                            "wrap (see agentsilex.Capability).")
    return list(given)


def _processors(callbacks: Any, memory: Any, processors: Any) -> list[tuple[str, Any]]:
    """What edits what is sent, in order: the seed's callbacks, the memory strategies, the Runner's processors."""
    memory = [memory] if callable(memory) else memory
    found = []
    for kind, given in (("callback", callbacks), ("memory", memory), ("processor", processors)):
        if given is None:
            continue
        if isinstance(given, (str, bytes, dict)) or not isinstance(given, (list, tuple)) or \
                not all(callable(item) for item in given):
            what = {"callback": "before_llm_call_callbacks must be a list of functions fn(session)",
                    "memory": "memory must be a strategy or a list of strategies fn(messages, session)",
                    "processor": "history_processors must be functions fn(messages, context) -> messages, in a list"}
            raise UserError(f"{what[kind]}, got {given!r:.80}.")
        found.extend((kind, item) for item in given)
    return found


__all__ = ["Runner", "RunStream", "AsyncRunStream", "Capability", "Timeouts"]
