"""Tracing as one wrap: the span tree of a run (spans.py) built from what passes between the loop and its driver.

Loaded only when tracing is on. It keeps a RunTrace per run (an agent used as a tool is a child run, traced under
its tool call), and instruments what the driver executes, for the time it executes it: each ModelCall's models
(every attempt, retry and fallback is seen on the call's chat span) and each ToolRun's `start` (the tool's span is
current while it runs, also on a worker thread, so the tool's own spans nest under it). Nothing it touches is what
is sent: the ModelRequest goes out as built.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Generator, Iterator

from ..engine.capability import Emit, ModelCall, RunTools
from ..errors import ModelError
from ..events import AgentHandoffEvent, ApprovalRequestedEvent, ToolResponseEvent
from ..wrapping import Capability, intercept
from .spans import ChatSpan, RunTrace, event


class Tracing(Capability):
    """The run's spans, per the OpenTelemetry GenAI semantic conventions (see spans.py)."""

    def wrap(self, loop: Any) -> Generator:
        top = loop.run
        self.traces = {top: RunTrace(top.agent, top.session, None, top.prompt)}
        self.nested: dict[tuple[Any, str], tuple[Any, Any]] = {}  # (parent run, call id) -> (child run, tool span)
        self.calls: dict[int, tuple[ChatSpan, Any, Any]] = {}
        try:
            result = yield from intercept(loop, self._before, self._after)
        except BaseException as exc:
            self._end(exc)
            raise
        self._end(None)
        return result

    def _trace(self, run: Any) -> RunTrace:
        """A run's spans; a child run (an agent used as a tool) starts under its tool call's span when first seen."""
        trace = self.traces.get(run)
        if trace is None:
            parent = self._trace(run.parent)
            item = next(i for i in run.parent.step.ready if i.call_id == run.call_id)
            span = parent.tool(item.tool, item.call_id, item.arguments)
            self.nested[(run.parent, run.call_id)] = (run, span)
            trace = self.traces[run] = RunTrace(run.agent, run.session, span, run.prompt)
        return trace

    def _before(self, request: Any) -> None:
        if isinstance(request, ModelCall):
            trace = self._trace(request.run)
            chat = ChatSpan(trace.agent, request.model, request.request, request.agent, trace.conversation_id,
                            purpose="compaction" if request.quiet else None, content=trace.content)
            self.calls[id(request)] = (chat, request.model, request.fallbacks)
            request.model = _Traced(request.model, chat)
            request.fallbacks = [_Traced(model, chat) for model in request.fallbacks]
        elif isinstance(request, RunTools):
            trace = self._trace(request.run)
            for item in request.calls:
                item.start = _ToolCall(item, trace)  # shadows ToolRun.start for this execution only
        elif isinstance(request, Emit):
            self._event(request.run, request.event)

    def _after(self, request: Any, response: Any, error: BaseException | None) -> None:
        if isinstance(request, ModelCall):
            chat, request.model, request.fallbacks = self.calls.pop(id(request))
            chat.finish(response, error)
        elif isinstance(request, RunTools):
            for index, item in enumerate(request.calls):
                traced = vars(item).pop("start", None)
                if isinstance(traced, _ToolCall):  # a call abandoned (timeout) or never started ends here
                    outcome = response[index] if response is not None else None
                    traced.finish(None, error if outcome is None else outcome.error, here=False)

    def _event(self, run: Any, happened: Any) -> None:
        trace = self._trace(run)
        if isinstance(happened, AgentHandoffEvent):
            trace.handoff(run.step.agent, run.agent)
        elif happened.type == "rate_limited":  # a model request waits for its turn (features/rate_limits.py)
            event(trace.agent, "agentsilex.rate_limited", **{"gen_ai.request.model": happened.model,
                  "agentsilex.rate_limit.wait_s": happened.wait, "agentsilex.rate_limit.limit": happened.limit})
        elif isinstance(happened, ApprovalRequestedEvent):
            event(trace.agent, "agentsilex.approval.requested",
                  **{"gen_ai.tool.name": happened.name, "gen_ai.tool.call.id": happened.call_id})
        elif isinstance(happened, ToolResponseEvent) and (run, happened.call_id) in self.nested:
            child, span = self.nested.pop((run, happened.call_id))  # an agent used as a tool has answered
            outcome = run.step.outcomes.get(happened.call_id)
            error = outcome.error if outcome is not None else None
            self.traces.pop(child).end(error)
            trace.tool_done(span, outcome.value if outcome is not None else None, error)

    def _end(self, error: BaseException | None) -> None:
        for (_, _), (child, span) in list(self.nested.items()):  # left open by a failure
            self.traces.pop(child).end(error)
            span.end()
        for trace in reversed(list(self.traces.values())):
            trace.end(error)


class _Traced:
    """A model as the driver calls it while traced: each attempt is reported to the call's chat span."""

    def __init__(self, model: Any, chat: ChatSpan) -> None:
        self.__dict__.update(_model=model, _chat=chat)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._model, name, value)

    def complete(self, request: Any) -> Any:
        self._chat.attempt(self._model)
        return self._reported(self._model.complete, request)

    async def complete_async(self, request: Any) -> Any:
        self._chat.attempt(self._model)
        try:
            return await self._model.complete_async(request)
        except ModelError as exc:
            self._chat.failed(exc)
            raise

    def stream(self, request: Any) -> Iterator[dict]:
        self._chat.attempt(self._model)
        chunks = iter(self._reported(self._model.stream, request))
        try:
            while True:
                chunk = self._reported(next, chunks, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            getattr(chunks, "close", lambda: None)()

    async def stream_async(self, request: Any) -> AsyncIterator[dict]:
        self._chat.attempt(self._model)
        chunks = aiter(self._model.stream_async(request))
        try:
            while True:
                try:
                    chunk = await anext(chunks, None)
                except ModelError as exc:
                    self._chat.failed(exc)
                    raise
                if chunk is None:
                    return
                yield chunk
        finally:
            if hasattr(chunks, "aclose"):
                await chunks.aclose()

    def _reported(self, function: Any, *args: Any) -> Any:
        try:
            return function(*args)
        except ModelError as exc:
            self._chat.failed(exc)
            raise


class _ToolCall:
    """A ToolRun's `start` while traced: its span starts when the driver starts the call, and is current while the
    tool runs (on a worker thread too); it ends when the tool returns or raises, or when the driver gives up."""

    def __init__(self, item: Any, trace: RunTrace) -> None:
        self.item, self.trace, self.started, self.done = item, trace, None, False

    def __call__(self) -> Any:
        self.started = self.trace.tool_started(self.item)
        try:
            value = type(self.item).start(self.item)
        except BaseException as exc:
            self.finish(None, exc)
            raise
        if hasattr(value, "__await__"):
            return self._awaited(value)
        self.finish(value, None)
        return value

    async def _awaited(self, value: Any) -> Any:
        try:
            value = await value
        except BaseException as exc:
            self.finish(None, exc)
            raise
        self.finish(value, None)
        return value

    def finish(self, value: Any, error: BaseException | None, here: bool = True) -> None:
        """End the span; `here=False` from another thread than the tool's (it was abandoned): its span is then
        no longer made current there."""
        if self.done:
            return
        self.done = True
        if self.started is None:  # never started (the batch was stopped first): a span that says so
            self.started = (self.trace.tool(self.item.tool, self.item.call_id, self.item.arguments), None)
        span, token = self.started
        self.trace.tool_finished((span, token if here else None), value, error)
