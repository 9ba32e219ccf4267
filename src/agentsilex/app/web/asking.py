"""Questions from a tool's server (MCP elicitation) in the web chat: shown in the run's stream, answered by POST.

While a run streams, its `WebAsker` is the one `answering` names: a question (asked on the MCP thread) is
handed to the web's event loop, sent as an `input_required` frame between the run's events, and waits until
`POST /api/sessions/{id}/answers/{question_id}` brings the answer (or the timeout of the server's option).
Runs of agents with no tool that asks people stream as before, with no second task.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

from ...questions import Answer, Question

_DONE = object()


class WebAsker:
    """The asker of one streaming run: questions out through `merged`, answers in through `answer`."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.outbox: asyncio.Queue[Question] = asyncio.Queue()
        self.waiting: dict[str, asyncio.Future] = {}

    async def __call__(self, question: Question) -> Any:
        """Called on the MCP thread's loop: ask on the web's loop and wait there for the answer."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._ask(question), self.loop))

    async def _ask(self, question: Question) -> Any:
        reply = self.loop.create_future()
        self.waiting[question.id] = reply
        await self.outbox.put(question)
        try:
            return await reply
        finally:
            self.waiting.pop(question.id, None)

    def answer(self, question_id: str, answer: Answer) -> bool:
        """Deliver the person's answer; False if no such question waits (answered already, or never asked)."""
        reply = self.waiting.get(question_id)
        if reply is None or reply.done():
            return False
        reply.set_result(answer)
        return True

    async def merged(self, events: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """The run's events with the questions between them, as they come."""
        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for event in events:
                    await queue.put(event)
                await queue.put(_DONE)
            except Exception as exc:  # handed to the reader, which raises it where a failure is reported
                await queue.put(exc)

        async def relay() -> None:
            while True:
                await queue.put(await self.outbox.get())

        tasks = [asyncio.create_task(pump()), asyncio.create_task(relay())]
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for reply in self.waiting.values():  # the reader left: nobody will answer
                reply.done() or reply.set_result(Answer("cancel"))


def question_view(question: Question) -> dict:
    return {"type": "input_required", "id": question.id, "server": question.server, "message": question.message,
            "schema": question.schema, "url": question.url}
