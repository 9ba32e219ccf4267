"""`Runner`: drives the one agent loop. Four entry points, two drivers (sync, async), each a few dozen lines."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any, AsyncIterator, Callable, Generator, Iterator

from ._loop import Emit, LoopOptions, ModelCall, Outcome, RunTools, ToolRun, agent_loop
from .control.approval import RunState
from .control.hooks import RunHooks
from .control.usage import RunLimits
from .errors import UserError
from .events import Event
from .models.stream import StreamAccumulator
from .result import RunResult
from .session import Session
from .stores.locking import hold_writer_lock


class Runner:
    """Runs agents on a session: `Runner(session).run(agent, prompt)`."""

    def __init__(self, session: Any = None, context: Any = None, *, max_turns: int = 10,
                 before_llm_call_callbacks: list[Callable[[Any], Any]] | None = None,
                 raise_tool_errors: bool = False, hooks: RunHooks | None = None, limits: RunLimits | None = None,
                 max_handoffs: int = 10, max_agent_depth: int = 3, memory: Any = None) -> None:
        if max_turns < 1:
            raise UserError(f"max_turns must be at least 1, got {max_turns}.")
        if hooks is not None and not isinstance(hooks, RunHooks):
            raise UserError(f"hooks must be a RunHooks (subclass it), got {type(hooks).__name__}.")
        self.session = session if session is not None else Session()
        # Shared and mutable: tools, turns and sub-agents all see (and may change) the same object.
        self.context = context if context is not None else {}
        self.options = LoopOptions(max_turns=max_turns, raise_tool_errors=raise_tool_errors,
                                   before_llm_call_callbacks=list(before_llm_call_callbacks or []),
                                   hooks=hooks or RunHooks(), limits=limits, max_handoffs=max_handoffs,
                                   max_agent_depth=max_agent_depth,
                                   memory=[memory] if callable(memory) else list(memory or []))

    def _loop(self, agent: Any, prompt: str | RunState) -> Generator:
        # A RunState (a run paused for approval, with decisions taken) resumes that run.
        if not isinstance(prompt, (str, RunState)):
            raise UserError(f"prompt must be a str or a RunState, got {type(prompt).__name__}.")
        loop = agent_loop(agent, prompt, session=self.session, context=self.context, options=self.options)
        return hold_writer_lock(self.session, loop)  # one run at a time per session (stores/locking.py)

    def run(self, agent: Any, prompt: str) -> RunResult:
        """Run to the final answer and return the result."""
        stream = RunStream(self._loop(agent, prompt), stream_model=False)
        for _ in stream:
            pass
        return stream.result

    def run_stream(self, agent: Any, prompt: str) -> RunStream:
        """Iterate over events as they happen; `.result` is available when the iteration ends."""
        return RunStream(self._loop(agent, prompt), stream_model=True)

    async def run_async(self, agent: Any, prompt: str) -> RunResult:
        """`run`, for asyncio code."""
        stream = AsyncRunStream(self._loop(agent, prompt), stream_model=False)
        async for _ in stream:
            pass
        return stream.result

    def run_stream_async(self, agent: Any, prompt: str) -> AsyncRunStream:
        """`run_stream`, for asyncio code: `async for event in runner.run_stream_async(...)`."""
        return AsyncRunStream(self._loop(agent, prompt), stream_model=True)


class _Stream:
    _result: RunResult | None = None

    @property
    def result(self) -> RunResult:
        if self._result is None:
            raise UserError("The run has not finished: iterate over the stream to the end before reading .result.")
        return self._result


class RunStream(_Stream):
    """The sync driver: sends model replies and tool outcomes into the loop, yields its events."""

    def __init__(self, loop: Generator, *, stream_model: bool) -> None:
        self._events = self._drive(loop, stream_model)

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def __next__(self) -> Event:
        return next(self._events)

    def close(self) -> None:
        self._events.close()

    def _drive(self, loop: Generator, stream_model: bool) -> Iterator[Event]:
        reply: Any = None
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
                    elif isinstance(request, ModelCall) and stream_model:
                        reply = yield from _stream_sync(request)
                    elif isinstance(request, ModelCall):
                        reply = request.model.complete(request.request)
                    elif isinstance(request, RunTools):
                        reply = [_invoke_sync(run) for run in request.calls]
                except GeneratorExit:
                    raise
                except BaseException as exc:  # the loop decides what a failure means
                    error = exc
        finally:
            loop.close()


class AsyncRunStream(_Stream):
    """The async driver: the same protocol as RunStream, awaiting instead of blocking."""

    def __init__(self, loop: Generator, *, stream_model: bool) -> None:
        self._events = self._drive(loop, stream_model)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        await self._events.aclose()

    async def _drive(self, loop: Generator, stream_model: bool) -> AsyncIterator[Event]:
        reply: Any = None
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
                    elif isinstance(request, ModelCall) and stream_model:
                        accumulator = StreamAccumulator(request.agent.name)
                        async for chunk in request.model.stream_async(request.request):
                            for event in accumulator.feed(chunk):
                                yield event
                        reply = accumulator.response()
                    elif isinstance(request, ModelCall):
                        reply = await request.model.complete_async(request.request)
                    elif isinstance(request, RunTools):
                        reply = list(await asyncio.gather(*(_invoke_async(run) for run in request.calls)))
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    error = exc
        finally:
            loop.close()


def _stream_sync(request: ModelCall) -> Generator[Event, None, Any]:
    accumulator = StreamAccumulator(request.agent.name)
    for chunk in request.model.stream(request.request):
        yield from accumulator.feed(chunk)
    return accumulator.response()


def _invoke_sync(run: ToolRun) -> Outcome:
    try:
        value = run.start()
        if inspect.isawaitable(value):
            value = _run_coroutine_sync(value)
        return Outcome(value=value)
    except Exception as exc:
        return Outcome(error=exc)


async def _invoke_async(run: ToolRun) -> Outcome:
    try:
        if run.tool.is_async:
            value = await run.start()
        else:  # sync tools run in a worker thread so they never block the event loop
            value = await asyncio.to_thread(run.start)
            if inspect.isawaitable(value):
                value = await value
        return Outcome(value=value)
    except Exception as exc:
        return Outcome(error=exc)


def _run_coroutine_sync(coroutine: Any) -> Any:
    """Run an async tool from sync code, also when an event loop already runs in this thread (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coroutine)
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, name="agentsilex-async-tool")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
