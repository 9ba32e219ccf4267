"""Questions for the person running an agent, asked in the middle of a tool call (MCP elicitation uses them).

A front end says who answers with `with answering(fn):` around a run; a tool that needs a person's input
(an MCP server with `elicitation="ask"`) reads `current_asker()` when it starts and calls it with a
`Question`. `fn(question)` (sync or async) returns a dict (accept, with that content), None (decline) or an
`Answer`. `agentsilex chat`/`run` ask at the prompt; the web chat shows a form. No dependency: the front ends
import this without the MCP SDK.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

_asker: ContextVar[Callable[..., Any] | None] = ContextVar("agentsilex_asker", default=None)


@dataclass(frozen=True)
class Question:
    """What a tool's server asks: its message and the flat JSON schema of the answer (or a URL to visit)."""

    server: str
    message: str
    schema: dict = field(default_factory=dict)
    url: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


@dataclass(frozen=True)
class Answer:
    """The person's reply: "accept" (with `content` matching the schema), "decline" or "cancel"."""

    action: str
    content: dict | None = None


@contextmanager
def answering(asker: Callable[[Question], Any]) -> Iterator[None]:
    """Within this block, questions from tools go to `asker(question)`."""
    token = _asker.set(asker)
    try:
        yield
    finally:
        _asker.reset(token)


def current_asker() -> Callable[..., Any] | None:
    """Who answers questions for the run calling a tool now (None: no one; the question is declined)."""
    return _asker.get()
