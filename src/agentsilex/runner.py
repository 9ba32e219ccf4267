"""`Runner`: checks its options, assembles each run's capabilities from what is configured, and picks a driver.

A run is the one agent loop (engine/loop.py), wrapped by its capabilities' wraps and by the session's writer lock,
driven by the sync or the async driver (engine/drivers.py, drivers_async.py). Which features a run has on, and in
what order, is decided by `features.assemble` (features/__init__.py: the table of features); it loads only when a
run uses something beyond the engine, and each feature module only when that feature is on.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .agent import reachable
from .engine.drivers import RunStream
from .engine.loop import LoopOptions, Run, agent_loop
from .engine.tool_calls import Limits, Timeouts
from .errors import UserError
from .models.retry import RetryPolicy
from .result import RunResult
from .session import Session, hold_writer_lock

if TYPE_CHECKING:
    from .engine.drivers_async import AsyncRunStream

# The structural limits, unless a RunLimits (or a flat keyword) says otherwise (options.py).
SETTINGS = {"max_handoffs": 10, "max_agent_depth": 3, "max_parallel_tools": 8, "max_repeated_tool_calls": None,
            "on_repeated_tool_call": "raise"}


class Runner:
    """Runs agents on a session: `Runner(session).run(agent, prompt)`.

    Options, all keyword-only: the seed's `max_turns` and `before_llm_call_callbacks`; `capabilities` (your own
    features), `hooks`; `memory` and `history_processors` (what is sent); `limits` (a RunLimits: budgets, the
    repeated-call guard, handoff and nesting limits, parallel tools), `conversation_limits`, `timeouts` (a
    Timeouts), `retry` (a RetryPolicy), `rate_limits` (a RateLimits: requests and tokens per minute per model,
    shared by processes); `conversation=True` keeps the conversation's usage with the session, `continue_agent`
    (after a handoff, later runs start with that agent), `approval_key`, `raise_tool_errors`.
    The older flat keywords still work: model_timeout, stream_idle_timeout, connect_timeout, tool_timeout,
    run_timeout, max_handoffs, max_agent_depth, max_parallel_tools, max_repeated_tool_calls, on_repeated_tool_call.
    """

    def __init__(self, session: Any = None, context: Any = None, *, max_turns: int = 10,
                 before_llm_call_callbacks: list[Callable[[Any], Any]] | None = None,
                 capabilities: Sequence[Any] = (), hooks: Any = None, rate_limits: Any = None,
                 memory: Any = None, history_processors: list[Callable[[list[dict], Any], Any]] | None = None,
                 limits: Any = None, conversation_limits: Any = None, timeouts: Timeouts | None = None,
                 retry: RetryPolicy | None = None, conversation: bool = False, continue_agent: bool = True,
                 approval_key: str | bytes | None = None, raise_tool_errors: bool = False, **flat: Any) -> None:
        if session is not None and not all(callable(getattr(session, name, None))
                                           for name in ("get_dialogs", "add_new_messages")):
            raise UserError(f"session must be a Session or a session store (e.g. SQLiteSession(id, path)), got "
                            f"{session!r:.100}.")
        self.session = session if session is not None else Session()
        # Shared and mutable: tools, turns and sub-agents all see (and may change) the same object.
        self.context = context if context is not None else {}
        self.timeouts, self.limits, self.settings = Timeouts(), limits, dict(SETTINGS)
        self.capabilities: list[Any] = []
        self.processors: list[tuple[str, Any]] = []
        self.conversation_limits, self.conversation = conversation_limits, bool(conversation)
        self.continue_agent, self.hooks, self.rate_limits = continue_agent, hooks, rate_limits
        self.approval_key, self.raise_tool_errors = approval_key, raise_tool_errors
        self.configured = bool(flat or capabilities or raise_tool_errors or conversation or any(
            given is not None for given in (timeouts, limits, before_llm_call_callbacks, memory, history_processors,
                                            hooks, conversation_limits, rate_limits, approval_key)))
        if self.configured:  # options.py checks each option given, then sorts it into the fields above
            from .options import sort_options

            sort_options(self, timeouts, flat, capabilities, before_llm_call_callbacks, memory, history_processors)
        if not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1:
            raise UserError(f"max_turns must be a whole number of at least 1, got {max_turns!r}.")
        self.options = LoopOptions(max_turns=max_turns,
                                   model_timeout=self.timeouts.model, stream_idle_timeout=self.timeouts.stream_idle,
                                   connect_timeout=self.timeouts.connect, settings=self.settings)
        # How the drivers do I/O: concurrency, timeouts, retries.
        self.execution = Limits(self.settings["max_parallel_tools"], self.timeouts.tool, self.timeouts.model,
                                self.timeouts.stream_idle, retry if retry is not None else RetryPolicy(),
                                self.timeouts.connect)

    def run(self, agent: Any, prompt: Any = None) -> RunResult:
        """Run to the final answer and return the result."""
        stream = RunStream(self._loop(agent, prompt), stream_model=False, limits=self.execution)
        for _ in stream:
            pass
        return stream.result

    def run_stream(self, agent: Any, prompt: Any = None) -> RunStream:
        """Iterate over events as they happen; `.result` is available when the iteration ends."""
        return RunStream(self._loop(agent, prompt), stream_model=True, limits=self.execution)

    async def run_async(self, agent: Any, prompt: Any = None) -> RunResult:
        """`run`, for asyncio code."""
        from .engine.drivers_async import AsyncRunStream

        stream = AsyncRunStream(lambda: self._loop(agent, prompt), self.session, stream_model=False,
                                limits=self.execution)
        async for _ in stream:
            pass
        return stream.result

    def run_stream_async(self, agent: Any, prompt: Any = None) -> AsyncRunStream:
        """`run_stream`, for asyncio code: `async for event in runner.run_stream_async(...)`."""
        from .engine.drivers_async import AsyncRunStream

        return AsyncRunStream(lambda: self._loop(agent, prompt), self.session, stream_model=True,
                              limits=self.execution)

    def run_batch(self, agent: Any, prompts: Any, *, provider: str = "openai", **options: Any) -> Any:
        """Run every prompt through a provider's batch API, at its batch price: see agentsilex.batch."""
        from .batch import run_batch

        return run_batch(self, agent, prompts, provider=provider, **options)

    def _loop(self, agent: Any, prompt: Any) -> Any:
        if not hasattr(agent, "render_instructions"):
            raise UserError(f"run() needs an Agent first, got {agent!r:.80}; call runner.run(agent, prompt).")
        approval = sys.modules.get("agentsilex.features.approval")  # not loaded: the prompt is not a RunState
        resuming = approval is not None and isinstance(prompt, approval.RunState)
        if not resuming and not isinstance(prompt, str):
            from .features.content import normalize_prompt  # content parts (or a clear error)

            prompt = normalize_prompt(prompt)
        needs = self._needs(agent)
        if "handoffs" in needs and self.continue_agent and not resuming:
            from .features.handoffs import next_agent  # a handoff in an earlier run: that agent answers

            agent = next_agent(self.session, agent)
        capabilities = _observers()
        if needs or resuming or self.configured:
            from .features import assemble

            capabilities = assemble(self, needs, prompt if resuming else None) + capabilities
        run = Run(agent, self.session, self.context, prompt, options=LoopOptions(**{
            **vars(self.options), "capabilities": capabilities}))
        loop = agent_loop(run)
        if run.plugs["wrap"]:  # the first capability's wrap is innermost (nearest the loop), the last outermost
            from .wrapping import Loop

            loop = Loop(loop, run)
            for wrap in run.plugs["wrap"]:
                loop = Loop(wrap(loop), run)
        return hold_writer_lock(self.session, loop)  # one run at a time per session (session.py)

    def _needs(self, agent: Any) -> set[str]:
        """The features the agents of this run use (checking each tool accepts the run context on the way)."""
        needs: set[str] = set()
        for each in reachable(agent):
            needs.update(name for name, used in (
                ("handoffs", each.handoffs), ("output", each.output_type not in (None, str)),
                ("guardrails", each.input_guardrails or each.output_guardrails),
                ("cache", each.model_settings.prompt_cache),
                ("stop_on_first_tool", each.tool_use_behavior == "stop_on_first_tool")) if used)
            for item in each._index().values():
                item.check_context(self.context)  # a tool declaring another context type: refused before any request
                needs.update(name for name, used in (("approval", item.needs_approval), (
                    "guardrails", item.input_guardrails or item.output_guardrails)) if used)
        return needs


def _observers() -> list[Any]:
    """Tracing and the DEBUG request log, when on; while they are off, this check imports nothing."""
    logging = sys.modules.get("logging")  # not imported: nothing configured a log
    debug = logging is not None and logging.getLogger("agentsilex").isEnabledFor(logging.DEBUG)
    if debug or "opentelemetry.trace" in sys.modules or "agentsilex.tracing.setup" in sys.modules or any(
            name.startswith("OTEL_EXPORTER_OTLP") for name in os.environ):
        from .tracing import observers

        return observers()
    return []


__all__ = ["Runner", "RunStream"]
