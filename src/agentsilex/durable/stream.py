"""A durable run seen from a client, engine-neutral: its live events (events.py), and the run as a stream of events
with `.result` at the end, as `Runner.run_stream_async` gives one (what the web chat serves).
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable

from ..errors import UserError
from ..events import Event
from ..result import RunResult
from . import codec, events


class HandleBase:
    """What the Temporal and DBOS handles share: `steps` (agents, store), `session_id`, `run_id`."""

    steps: Any
    session_id: str
    run_id: str

    async def updates(self, *, skip_pauses: int = 0, stop_at_pause: bool = False) -> AsyncIterator[tuple[str, Any]]:
        """("event", Event) items, ("paused", RunResult) at each pause, ("end", RunResult) last."""
        session = self.steps.store.session(self.session_id)
        async for kind, data in events.watch(session, self.run_id, skip_pauses=skip_pauses,
                                             stop_at_pause=stop_at_pause):
            if kind == "event":
                yield kind, codec.event_from_data(data, self.steps.agents)
            else:
                result = codec.result_from_data(data, self.steps.agents)
                if kind == "paused":
                    result.state = paused_state(result)
                yield kind, result

    async def events(self, *, skip_pauses: int = 0, stop_at_pause: bool = False) -> AsyncIterator[Event]:
        """The run's events, live, from its start (or after `skip_pauses` pauses) to its final result (or to the
        next pause): tokens, tool calls and results, handoffs, approval requests."""
        async for kind, item in self.updates(skip_pauses=skip_pauses, stop_at_pause=stop_at_pause):
            if kind == "event":
                yield item

    async def pauses(self) -> int:
        """How many times the run has paused for approval so far."""
        import asyncio

        session = self.steps.store.session(self.session_id)
        return await asyncio.to_thread(events.count_pauses, session, self.run_id)


def paused_state(result: RunResult) -> Any:
    """The waiting calls as a RunState (unsigned: it is never resumed by a Runner), for front ends that show a paused
    run and collect the decisions (the web chat keeps it with the session, as for any paused run)."""
    from ..features.approval import RunState

    calls = [{"id": p.call_id, "type": "function", "function": {"name": p.tool_name, "arguments": p.arguments}}
             for p in result.pending_approvals]
    return RunState(result.last_agent.name, result.input, {"role": "assistant", "content": None, "tool_calls": calls},
                    list(result.pending_approvals), result.usage)


class DurableStream:
    """A durable run as an event stream up to its end or its next pause: `async for event in stream`, then
    `stream.result`. Closing it stops watching; the run goes on (it is durable)."""

    def __init__(self, start: Callable[[], Awaitable[tuple[HandleBase, int]]]) -> None:
        """`start()` starts (or finds) the run on the first step: (its handle, the pauses to skip)."""
        self._result: RunResult | None = None
        self._events = self._watch(start)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

    @property
    def result(self) -> RunResult:
        if self._result is None:
            raise UserError("The run has not finished: iterate over the stream to the end before reading .result.")
        return self._result

    async def aclose(self) -> None:
        await self._events.aclose()

    async def _watch(self, start: Callable[[], Awaitable[tuple[HandleBase, int]]]) -> AsyncIterator[Event]:
        handle, skip_pauses = await start()
        async for kind, item in handle.updates(skip_pauses=skip_pauses, stop_at_pause=True):
            if kind == "event":
                yield item
            else:
                self._result = item
