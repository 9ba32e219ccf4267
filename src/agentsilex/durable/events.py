"""A durable run's live events, kept with its session in the store, for whoever watches the run.

Steps write them (the workflow itself does no I/O): the events the loop emitted since the last step ride along with
the next step, as one numbered batch; a streamed model reply is a batch of its own, rewritten as tokens arrive (with
its attempt number: a reply retried on another worker starts again). A watcher polls the batches in order:

    agentsilex.run.<run id>.<n>   {"events": [...]}                      events the loop emitted
                                  {"events": [...], "stream": attempt, "done": bool}  a streamed reply, so far
                                  {"events": [...], "paused": result}    the run waits for approval
                                  {"events": [...], "result": result}    the run ended
    agentsilex.run.last           {"run_id": ..., "batches": n}          cleared by the next run on the session

Batches are keyed by number, so a retried step writes the same keys again: nothing is duplicated.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator

PREFIX = "agentsilex.run."
LAST = PREFIX + "last"
POLL = 0.05  # seconds between reads while waiting for the next batch


def key(run_id: str, batch: int) -> str:
    return f"{PREFIX}{run_id}.{batch}"


def write(session: Any, run_id: str, batch: int, data: dict) -> None:
    session.set_state(key(run_id, batch), data)


def finished(session: Any, run_id: str, batches: int) -> None:
    """Note the run's batches, so the next run on the session clears them."""
    session.set_state(LAST, {"run_id": run_id, "batches": batches})


def clear_previous(session: Any, run_id: str) -> None:
    last = session.get_state(LAST)
    if not isinstance(last, dict) or last.get("run_id") == run_id:
        return
    for batch in range(int(last.get("batches", 0))):
        session.set_state(key(last["run_id"], batch), None)
    session.set_state(LAST, None)


class Streamer:
    """Writes a streamed reply's events as they come, at most every `every` seconds (and at the end)."""

    def __init__(self, session: Any, run_id: str, batch: int, attempt: int, every: float = 0.2) -> None:
        self.session, self.run_id, self.batch, self.attempt, self.every = session, run_id, batch, attempt, every
        self.events: list[dict] = []
        self.written = 0.0

    async def add(self, event: dict) -> None:
        self.events.append(event)
        if time.monotonic() - self.written >= self.every:
            await self.flush(False)

    async def flush(self, done: bool) -> None:
        self.written = time.monotonic()
        data = {"events": list(self.events), "stream": self.attempt, "done": done}
        await asyncio.to_thread(write, self.session, self.run_id, self.batch, data)


async def watch(session: Any, run_id: str, *, skip_pauses: int = 0, stop_at_pause: bool = False,
                poll: float = POLL) -> AsyncIterator[tuple[str, Any]]:
    """The run's events in order, as ("event", data) items; then ("paused", result) at each pause and ("end",
    result) last. `skip_pauses`: start after that many pauses (what a watcher saw already)."""
    batch, seen, attempt, pauses = 0, 0, None, 0
    while True:
        data = await asyncio.to_thread(session.get_state, key(run_id, batch))
        if data is None or ("stream" in data and not data["done"] and len(data["events"]) <= seen
                            and data["stream"] == attempt):
            await asyncio.sleep(poll)
            continue
        if "stream" in data and data["stream"] != attempt:
            attempt, seen = data["stream"], 0  # a new attempt of the reply: it streams again from its start
        if pauses >= skip_pauses:
            for event in data["events"][seen:]:
                yield "event", event
        seen = len(data["events"])
        if "stream" in data and not data["done"]:
            continue
        batch, seen, attempt = batch + 1, 0, None
        if "paused" in data:
            pauses += 1
            if pauses > skip_pauses:
                yield "paused", data["paused"]
                if stop_at_pause:
                    return
        if "result" in data:
            yield "end", data["result"]
            return


def count_pauses(session: Any, run_id: str) -> int:
    """How many pauses the run has written so far (a watcher that starts after them skips that many)."""
    batch, pauses = 0, 0
    while True:
        data = session.get_state(key(run_id, batch))
        if data is None:
            return pauses
        pauses += "paused" in data
        batch += 1
