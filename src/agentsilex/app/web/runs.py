"""What every door of the web app shares: one way to find a session, start a run and report an error.

The web chat's JSON API and each protocol (OpenAI-compatible, AG-UI, A2A, the Vercel AI stream) go through
`Chat`: the same store, the same Runner options, the same limits (session ids, prompt size), the same
"one run per session at a time" (409) and the same error kinds. Each protocol only translates: its request
into `(session, prompt)`, the run's events into its own wire format, and an `ApiError` into its own error
body (`error_shapes`, chosen by the request's path).
"""

from __future__ import annotations

import re
from typing import Any, AsyncIterator, Callable

from fastapi import Request
from fastapi.responses import JSONResponse

from ...agent import Agent
from ...errors import ModelError, SessionBusyError, UserError
from ...features.approval import RunState
from ...features.conversation import Conversation
from ...runner import Runner
from ...session import Session
from ..common import (PENDING_KEY, Store, describe_error, make_runner, needs_prices, reachable_agents, save_pending,
                      usage_view)

SESSION_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_CONTENT = 100_000  # characters of text in one prompt (the web chat's limit)
MAX_MESSAGES = 1_000  # messages a client may send as the conversation (OpenAI, AG-UI, Vercel)


class ApiError(Exception):
    """An error answer: HTTP status, a short kind, and a message that says what to do."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


ErrorShape = Callable[[int, str, str], dict]


def web_error(status: int, kind: str, message: str) -> dict:
    """The JSON API's error body: `{"error": kind, "message": text}`."""
    return {"error": kind, "message": message}


def error_body(shapes: list[tuple[str, ErrorShape]], path: str, status: int, kind: str, message: str) -> dict:
    """An error in the shape of the protocol a request to `path` spoke (`shapes`: path prefix -> shape), else
    the JSON API's. The front door (doors.py) uses it too, so a refused OpenAI client reads an OpenAI error."""
    shape = next((fn for prefix, fn in shapes if path.startswith(prefix)), web_error)
    return shape(status, kind, message)


def error_response(request: Request, status: int, kind: str, message: str) -> JSONResponse:
    """An error in the shape of the protocol the request spoke (by its path), else the JSON API's."""
    shapes: list[tuple[str, ErrorShape]] = getattr(request.app.state, "error_shapes", [])
    return JSONResponse(error_body(shapes, request.url.path, status, kind, message), status_code=status)


def as_api_error(error: Exception) -> ApiError:
    """The status a failure before the answer started deserves: the caller's fault (4xx) or the model's (502)."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, SessionBusyError):
        return ApiError(409, "session_busy", describe_error(error))
    if isinstance(error, UserError):
        return ApiError(400, "bad_request", describe_error(error))
    if isinstance(error, ModelError):
        return ApiError(502, "model_error", describe_error(error))
    return ApiError(500, "internal_error", describe_error(error))


class Run:
    """A started run: its events (the first one already taken, so a busy session was a 409, not a broken
    stream), then its result. `close()` stops it if the client went away; the session stays valid."""

    def __init__(self, session: Any, stream: Any, rest: AsyncIterator[Any], first: Any, stored: bool) -> None:
        self.session, self.stream, self.rest, self.first, self.stored = session, stream, rest, first, stored

    async def events(self) -> AsyncIterator[Any]:
        if self.first is not None:
            yield self.first
        async for event in self.rest:
            yield event

    @property
    def result(self) -> Any:
        return self.stream.result

    def keep_pending(self) -> None:
        """Keep a paused run's state with a stored session (a reload, another door or process can resume it)."""
        if self.stored:
            save_pending(self.session, self.result)

    async def close(self) -> None:
        await self.stream.aclose()


class Chat:
    """The served agent, its store and Runner options, shared by every door of the app."""

    def __init__(self, agent: Agent, store: Store, retries: int | None, public_url: str | None = None,
                 runs: Any = None) -> None:
        self.agent, self.store, self.retries = agent, store, retries
        self.runs = runs  # runs(session, prompt) -> a stream of events, instead of a Runner (durable runs)
        self.public_url = public_url.rstrip("/") if public_url else None
        self.priced = needs_prices(agent)
        # A tool whose server may ask the person a question (MCP elicitation="ask"): the web chat shows it.
        self.asking = any(getattr(t, "asks_people", False) for a in reachable_agents(agent) for t in a.tools)
        self.askers: dict[str, Any] = {}  # session id -> the WebAsker of its streaming run

    # -- sessions ----------------------------------------------------------------------------------------
    def known(self, session_id: str) -> Any:
        """A stored session that exists (404 otherwise)."""
        if not valid_id(session_id) or not self.store.exists(session_id):
            raise ApiError(404, "unknown_session", f"No session {session_id!r}: create it with POST /api/sessions.")
        return self.store.session(session_id)

    def open(self, session_id: str) -> Any:
        """A stored session, created on first use (so a client may pick the id of a new conversation)."""
        if not valid_id(session_id):
            raise ApiError(400, "bad_session_id", f"Session id {session_id!r:.80} is not valid: use 1-64 letters, "
                           "digits, '.', '_' or '-', starting with a letter or digit.")
        return self.store.create(session_id)

    def conversation(self, session_id: str | None, history: list[dict]) -> tuple[Any, bool]:
        """Where a protocol's run keeps its messages: with no session id, an in-memory session holding the
        client's own history (nothing stored); with one, that stored session. A stored session that has
        messages is the conversation and the client's history is not used; an empty one starts from it."""
        if session_id is None:
            session = Session()
            _add(session, history)
            return session, False
        session = self.open(session_id)
        if history and not session.get_dialogs():
            _add(session, history)
        return session, True

    def recorded_usage(self, session: Any) -> dict:
        """What the session recorded: every run on it (the Runner keeps it with `conversation=True`)."""
        return usage_view(Conversation(session).usage, priced=self.priced)

    def pending(self, session: Any) -> RunState | None:
        saved = session.get_state(PENDING_KEY)
        return RunState.from_json(saved) if saved else None

    # -- runs ----------------------------------------------------------------------------------------------
    def runner(self, session: Any) -> Runner:
        """The Runner every door uses: the app's retries, and the conversation's usage kept with the session."""
        return make_runner(session, retries=self.retries, conversation=True)

    async def begin(self, session: Any, prompt: Any, *, stored: bool = True,
                    abandon_pending: bool = False) -> Run:
        """Start the run and take its first event: a busy session is a 409 and bad input a 400 here, before
        any answer has started; a failure after this point belongs in the stream."""
        check_prompt(prompt)
        stream = self.runs(session, prompt) if self.runs is not None else \
            self.runner(session).run_stream_async(self.agent, prompt)
        events = stream.__aiter__()
        try:
            first = await events.__anext__()
        except StopAsyncIteration:
            first = None
        except Exception as error:
            await stream.aclose()
            raise as_api_error(error) from None
        if abandon_pending and stored:  # a new question replaces a run that was waiting for approval
            session.set_state(PENDING_KEY, None)
        return Run(session, stream, events, first, stored)

    def resume(self, session: Any, decisions: dict[str, tuple[bool, str]]) -> RunState:
        """The session's paused run with these decisions taken (409 if none waits, 400 for an unknown call)."""
        state = self.pending(session)
        if state is None:
            raise ApiError(409, "nothing_pending", "This conversation has no run waiting for approval.")
        try:
            for call_id, (approved, reason) in decisions.items():
                state.approve(call_id) if approved else state.reject(call_id, reason)
        except UserError as error:
            raise ApiError(400, "bad_request", describe_error(error)) from None
        return state


def valid_id(session_id: str) -> bool:
    return isinstance(session_id, str) and re.fullmatch(SESSION_ID, session_id) is not None


def check_prompt(prompt: Any) -> None:
    """The web chat's size limit, for every door: a prompt's text is at most MAX_CONTENT characters."""
    if isinstance(prompt, RunState):
        return
    text = prompt if isinstance(prompt, str) else " ".join(
        part if isinstance(part, str) else str(part.get("text", "")) if isinstance(part, dict) else ""
        for part in (prompt if isinstance(prompt, list) else [prompt]))
    if not text.strip() and isinstance(prompt, str):
        raise ApiError(400, "bad_request", "The message is empty: send the user's text.")
    if len(text) > MAX_CONTENT:
        raise ApiError(413, "too_large", f"The message has {len(text):,} characters; the limit is {MAX_CONTENT:,}.")


def _add(session: Any, history: list[dict]) -> None:
    if len(history) > MAX_MESSAGES:
        raise ApiError(413, "too_large", f"{len(history):,} messages; the limit is {MAX_MESSAGES:,}.")
    if history:
        try:
            session.add_new_messages(history)
        except UserError as error:
            raise ApiError(400, "bad_request", describe_error(error)) from None


def final_text(output: Any) -> str:
    """The final output as the text a chat protocol carries (structured output as JSON)."""
    if output is None or isinstance(output, str):
        return output or ""
    import json

    from ..common import jsonable

    return json.dumps(jsonable(output), ensure_ascii=False)


def waiting_text(pending: list[Any], how: str = "Decide in the web chat (or with POST "
                 "/api/sessions/<session>/approvals).") -> str:
    """What a chat client shows for a run paused for approval, and how to decide."""
    calls = ", ".join(f"{p.tool_name}({p.arguments})" for p in pending)
    return f"Waiting for approval: {calls}. {how}"
