"""MCP elicitation: a server that asks the user for input in the middle of a tool call (`elicitation/create`).

Off unless you opt in, per server (`MCPServer(config, elicitation=...)`, `mcp_tools(..., elicitation=...)`, or
`"elicitation": "ask"` in a config file):

- `elicitation="ask"`: the person watching the run answers. The tool call waits for them, like a call waiting
  for approval: `agentsilex chat` and `run` ask at the prompt, the web chat shows the question as a form in the
  answer (Accept / Decline). Any program can be the one asked: wrap the run in `with answering(fn):`, where
  `fn(question) -> dict | Answer | None` (sync or async) is called with a `Question`.
- `elicitation=fn`: `fn` answers every question of this server itself (no person involved).

A dict answer accepts with that content, None declines, `Answer("cancel")` cancels. The time spent waiting for
an answer does not count against the server's `call_timeout`; `timeout` (default 600 s) bounds it, and then the
question is cancelled. Limits: the question lives only while the call waits, in this process (unlike an
approval, it cannot be answered after a restart); a run with no one to ask (a protocol endpoint, a script
without `answering`) declines. When several calls to the same server wait at once with different people to
ask, the server's question goes to none of them (declined): MCP does not say which call a question is for.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from mcp import types

from ..errors import UserError
from ..questions import Answer, Question, answering, current_asker

__all__ = ["Answer", "Elicitation", "Question", "answering", "current_asker"]
logger = logging.getLogger("agentsilex.mcp")


class Elicitation:
    """One server's elicitation setting, and the calls in flight that a question may belong to."""

    def __init__(self, option: Any, server: str, timeout: float = 600.0) -> None:
        if option not in (None, False, True, "ask") and not callable(option):
            raise UserError(f"elicitation= must be 'ask' (the person running the agent answers) or a function "
                            f"fn(question) -> dict | None, got {option!r}.")
        self.enabled = option not in (None, False)
        self.answers = option if callable(option) and option is not True else None
        self.server, self.timeout = server, timeout
        self._calls: list[tuple[Any, Any]] = []  # (asker, timeout scope) of each call in flight

    @contextmanager
    def calling(self, asker: Any, scope: Any) -> Iterator[None]:
        """Around one tools/call: a question during it may go to `asker`; waiting pushes `scope` back."""
        entry = (asker, scope)
        self._calls.append(entry)
        try:
            yield
        finally:
            self._calls.remove(entry)

    async def __call__(self, context: Any, params: Any) -> Any:
        """The MCP SDK's elicitation callback."""
        question = Question(self.server, params.message, dict(getattr(params, "requested_schema", None) or {}),
                            getattr(params, "url", None))
        asker = self.answers or self._who_answers()
        if asker is None:
            logger.warning("MCP server %r asked %r, but no one can answer in this run: declined.", self.server,
                           question.message)
            return types.ElicitResult(action="decline")
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                answer = await _answer_of(asker, question)
        except TimeoutError:
            answer = Answer("cancel")
        except Exception as exc:  # a failing asker: the server hears "cancel", the run goes on
            logger.warning("Answering MCP server %r failed: %s", self.server, exc)
            answer = Answer("cancel")
        finally:
            for _, scope in list(self._calls):  # a person's thinking time is not the server's call time
                if scope is not None and scope.when() is not None:
                    scope.reschedule(scope.when() + time.monotonic() - started)
        return _result(answer, question)

    def _who_answers(self) -> Any:
        askers = {id(asker): asker for asker, _ in self._calls if asker is not None}
        return next(iter(askers.values())) if len(askers) == 1 else None


async def _answer_of(asker: Callable[[Question], Any], question: Question) -> Any:
    answer = asker(question)
    return await answer if inspect.isawaitable(answer) else answer


def _result(answer: Any, question: Question) -> types.ElicitResult:
    if answer is None:
        return types.ElicitResult(action="decline")
    if isinstance(answer, dict):
        answer = Answer("accept", answer)
    if not isinstance(answer, Answer) or answer.action not in ("accept", "decline", "cancel"):
        raise UserError(f"An answer to an MCP question must be a dict, None or Answer(...), got {answer!r}.")
    if answer.action != "accept" or question.url is not None:
        return types.ElicitResult(action=answer.action)  # type: ignore[arg-type]
    return types.ElicitResult(action="accept", content=coerce(answer.content or {}, question.schema))


def coerce(content: dict, schema: dict) -> dict:
    """Typed values for the schema's properties (a form or a terminal gives text): numbers, booleans."""
    properties = schema.get("properties") or {}
    typed: dict = {}
    for name, value in content.items():
        kind = (properties.get(name) or {}).get("type")
        try:
            if kind == "integer" and isinstance(value, str):
                value = int(value)
            elif kind == "number" and isinstance(value, str):
                value = float(value)
            elif kind == "boolean" and isinstance(value, str):
                value = value.strip().lower() in ("true", "yes", "y", "1", "on")
        except ValueError:
            pass  # left as given: the server validates and says what is wrong
        typed[name] = value
    return typed
