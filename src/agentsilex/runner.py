"""`Runner`: drives the one agent loop. Four entry points, two drivers (sync, async), each a few dozen lines."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any, AsyncGenerator, AsyncIterator, Callable, Generator, Iterator

from .features.batches import AsyncBatches, SyncBatches
from .engine.model_call import call_model_async, call_model_sync
from .engine.loop import Batch, Emit, LoopOptions, ModelCall, RunTools, agent_loop
from .engine.tool_calls import Limits, run_tools_async, run_tools_sync
from .features import approval
from .features.content import Prompt, normalize_prompt
from .features.approval import RunState
from .features.conversation import ConversationLimits
from .features.guards import RepeatPolicy
from .features.hooks import RunHooks
from .features.usage import RunLimits
from .errors import UserError
from .events import Event
from .models import ModelResponse
from .models.retry import RetryPolicy
from .result import RunResult
from .session import Session, hold_writer_lock
from .validation import check_runner_options


class Runner:
    """Runs agents on a session: `Runner(session).run(agent, prompt)`."""

    def __init__(self, session: Any = None, context: Any = None, *, max_turns: int = 10,
                 before_llm_call_callbacks: list[Callable[[Any], Any]] | None = None,
                 raise_tool_errors: bool = False, hooks: RunHooks | None = None, limits: RunLimits | None = None,
                 max_handoffs: int = 10, max_agent_depth: int = 3, memory: Any = None,
                 history_processors: list[Callable[[list[dict], Any], list[dict]]] | None = None,
                 max_parallel_tools: int = 8, tool_timeout: float | None = None,
                 model_timeout: float | None = Limits.model_timeout,  # the defaults: see _run_tools.Limits
                 stream_idle_timeout: float | None = Limits.stream_idle_timeout,
                 connect_timeout: float | None = Limits.connect_timeout, retry: RetryPolicy | None = None,
                 approval_key: str | bytes | None = None, run_timeout: float | None = None,
                 max_repeated_tool_calls: int | None = None, on_repeated_tool_call: str = "raise",
                 conversation_limits: ConversationLimits | None = None, continue_agent: bool = True,
                 conversation: bool = False) -> None:
        check_runner_options(session, limits, max_turns, max_handoffs, max_agent_depth)
        # conversation=True: keep the conversation's usage with the session (Conversation(session).usage).
        self.conversation = bool(conversation)
        if hooks is not None and not isinstance(hooks, RunHooks):
            raise UserError(f"hooks must be a RunHooks (subclass it), got {type(hooks).__name__}.")
        if not all(callable(p) for p in history_processors or []):
            raise UserError("history_processors must be functions fn(messages, context) -> messages.")
        if run_timeout is not None and not (isinstance(run_timeout, (int, float)) and run_timeout > 0):
            raise UserError(f"run_timeout must be a positive number of seconds or None, got {run_timeout!r}.")
        repeats = (RepeatPolicy(max_repeated_tool_calls, on_repeated_tool_call)
                   if max_repeated_tool_calls is not None else None)
        self.session = session if session is not None else Session()
        self.approval_key = approval.resolve_key(approval_key)  # signs paused runs (see control/approval.py)
        # Shared and mutable: tools, turns and sub-agents all see (and may change) the same object.
        self.context = context if context is not None else {}
        # How the drivers do I/O (concurrency, timeouts, retries); the loop's limits are in `options`.
        self.execution = Limits(max_parallel_tools=max_parallel_tools, tool_timeout=tool_timeout,
                                model_timeout=model_timeout, stream_idle_timeout=stream_idle_timeout,
                                connect_timeout=connect_timeout, retry=retry if retry is not None else RetryPolicy())
        self.options = LoopOptions(max_turns=max_turns, raise_tool_errors=raise_tool_errors,
                                   before_llm_call_callbacks=list(before_llm_call_callbacks or []),
                                   hooks=hooks or RunHooks(), limits=limits, max_handoffs=max_handoffs,
                                   max_agent_depth=max_agent_depth,
                                   memory=[memory] if callable(memory) else list(memory or []),
                                   history_processors=list(history_processors or []),
                                   model_timeout=self.execution.model_timeout,
                                   stream_idle_timeout=self.execution.stream_idle_timeout,
                                   connect_timeout=self.execution.connect_timeout,
                                   run_timeout=run_timeout, repeats=repeats,
                                   conversation_limits=conversation_limits, continue_agent=continue_agent,
                                   approval_key=self.approval_key)

    def _loop(self, agent: Any, prompt: Prompt | RunState) -> Generator:
        # A RunState (a run paused for approval, with decisions taken) resumes that run.
        if not isinstance(prompt, RunState):
            prompt = normalize_prompt(prompt)  # a str, or checked content parts (content.py)
        loop = agent_loop(agent, prompt, session=self.session, context=self.context, options=self.options)
        loop = approval.guard(loop, prompt, self.session, self.approval_key)  # signed states, at most once
        return hold_writer_lock(self.session, loop)  # one run at a time per session (session.py)

    def run(self, agent: Any, prompt: Prompt | RunState) -> RunResult:
        """Run to the final answer and return the result."""
        stream = RunStream(self._loop(agent, prompt), stream_model=False, limits=self.execution)
        for _ in stream:
            pass
        return stream.result

    def run_stream(self, agent: Any, prompt: Prompt | RunState) -> RunStream:
        """Iterate over events as they happen; `.result` is available when the iteration ends."""
        return RunStream(self._loop(agent, prompt), stream_model=True, limits=self.execution)

    async def run_async(self, agent: Any, prompt: Prompt | RunState) -> RunResult:
        """`run`, for asyncio code."""
        stream = AsyncRunStream(self._loop(agent, prompt), stream_model=False, limits=self.execution)
        async for _ in stream:
            pass
        return stream.result

    def run_stream_async(self, agent: Any, prompt: Prompt | RunState) -> AsyncRunStream:
        """`run_stream`, for asyncio code: `async for event in runner.run_stream_async(...)`."""
        return AsyncRunStream(self._loop(agent, prompt), stream_model=True, limits=self.execution)


class _Stream:
    _result: RunResult | None = None

    @property
    def result(self) -> RunResult:
        if self._result is None:
            raise UserError("The run has not finished: iterate over the stream to the end before reading .result.")
        return self._result


class RunStream(_Stream):
    """The sync driver: sends model replies and tool outcomes into the loop, yields its events."""

    def __init__(self, loop: Generator, *, stream_model: bool, limits: Limits | None = None) -> None:
        self._events = self._drive(loop, stream_model, limits or Limits())

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def __next__(self) -> Event:
        return next(self._events)

    def __enter__(self) -> RunStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the run now (e.g. after breaking out of the loop); the session stays valid."""
        self._events.close()

    def _drive(self, loop: Generator, stream_model: bool, limits: Limits) -> Generator[Event, None, None]:
        reply: Any = None
        batches: SyncBatches | None = None  # agents used as tools, side by side (_parallel.py)
        error: BaseException | None = None
        try:
            while True:
                try:
                    request = loop.throw(error) if error is not None else loop.send(reply)
                except StopIteration as done:
                    self._result = done.value
                    return
                reply, error = None, None
                try:
                    if isinstance(request, Emit):
                        yield request.event
                    elif isinstance(request, ModelCall):
                        reply = yield from call_model_sync(request, limits, stream_model and not request.quiet)
                    elif isinstance(request, RunTools):
                        reply = run_tools_sync(request.calls, limits, request.deadline)
                    elif isinstance(request, Batch):
                        batches = batches or SyncBatches(limits, stream_model)
                        reply = yield from batches.run(request.requests)
                except GeneratorExit:
                    raise
                except BaseException as exc:  # the loop decides what a failure means
                    error = exc
        finally:
            loop.close()


class AsyncRunStream(_Stream):
    """The async driver: the same protocol as RunStream, awaiting instead of blocking."""

    def __init__(self, loop: Generator, *, stream_model: bool, limits: Limits | None = None) -> None:
        self._events = self._drive(loop, stream_model, limits or Limits())

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

    async def __aenter__(self) -> AsyncRunStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the run now (e.g. after breaking out of the loop); the session stays valid."""
        await self._events.aclose()

    async def _drive(self, loop: Generator, stream_model: bool, limits: Limits) -> AsyncGenerator[Event, None]:
        reply: Any = None
        batches: AsyncBatches | None = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    request = loop.throw(error) if error is not None else loop.send(reply)
                except StopIteration as done:
                    self._result = done.value
                    return
                reply, error = None, None
                try:
                    if isinstance(request, Emit):
                        yield request.event
                    elif isinstance(request, ModelCall):
                        streamed = stream_model and not request.quiet
                        async with aclosing(call_model_async(request, limits, streamed)) as items:
                            async for item in items:
                                if isinstance(item, ModelResponse):
                                    reply = item
                                else:
                                    yield item
                    elif isinstance(request, RunTools):
                        reply = await run_tools_async(request.calls, limits, request.deadline)
                    elif isinstance(request, Batch):
                        batches = batches or AsyncBatches(limits, stream_model)
                        async with aclosing(batches.run(request.requests)) as items:
                            async for item in items:
                                if isinstance(item, list):
                                    reply = item
                                else:
                                    yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    error = exc
        finally:
            loop.close()
            if batches is not None:
                await batches.close()
