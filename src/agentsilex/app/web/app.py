"""The web chat's server: the page (static files in this package) and the JSON API it uses.

API (also at /openapi.json and /docs); errors are `{"error": kind, "message": text}` with an HTTP status:
    GET    /api/info                          the agent's name and the store
    GET    /api/sessions                      the stored sessions, newest first
    POST   /api/sessions                      create one: {"id": optional name}
    DELETE /api/sessions/{id}                 delete one
    GET    /api/sessions/{id}/messages        its history, and the calls waiting for approval
    POST   /api/sessions/{id}/messages        {"content": text}: the run's events as Server-Sent Events
    POST   /api/sessions/{id}/approvals       {"decisions": {call_id: {"approved": bool, "reason": text}}}:
                                              resume the paused run, events as Server-Sent Events
Each SSE frame is `data: <json>`: the events of `agentsilex.frontend.event_view` (partial_output, tool_call,
tool_response, agent_handoff, final_result), `approval_required` when the run pauses, `error` if it fails.
A session runs one answer at a time: a second one gets 409 `session_busy`, never interleaved turns.
"""

from __future__ import annotations

import json
import re
import secrets
from importlib.resources import files
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from ...agent import Agent
from ...features.approval import RunState
from ...errors import ModelError, SessionBusyError, UserError
from ..common import PENDING_KEY, Store, describe_error, event_view, make_runner, needs_prices, result_view, save_pending

SESSION_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
STATIC = files("agentsilex.app.web") / "static"


class NewSession(BaseModel):
    id: str | None = Field(default=None, pattern=SESSION_ID, description="A name; a random one if left out.")


class NewMessage(BaseModel):
    content: str = Field(min_length=1, max_length=100_000, description="The user's message.")


class Decision(BaseModel):
    approved: bool
    reason: str = ""


class Decisions(BaseModel):
    decisions: dict[str, Decision] = Field(description="One decision per waiting call id.")


class ApiError(Exception):
    """An error answer: HTTP status, a short kind, and a message that says what to do."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def create_app(agent: Agent, *, store: Store | None = None, token: str | None = None,
               retries: int | None = None, runs: Any = None) -> FastAPI:
    """The web chat for `agent`, its sessions in `store`; with `token`, every API call must carry it. `runs(session,
    prompt)`, if given, starts each answer instead of a Runner (durable runs: agentsilex.durable.temporal.web_runs)."""
    chat = _Chat(agent, store or Store(), retries, runs)
    app = FastAPI(title=f"agentsilex: {agent.name}", description="Chat with an agentsilex agent.", version="1")
    _errors(app)
    if token:
        _require_token(app, token)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/api/info")
    def info() -> dict:
        model = agent.model if isinstance(agent.model, str) else getattr(agent.model, "name", "model")
        return {"agent": agent.name, "model": model, "store": chat.store.url}

    _session_routes(app, chat)
    _run_routes(app, chat)
    return app


def _session_routes(app: FastAPI, chat: _Chat) -> None:
    store = chat.store

    @app.get("/api/sessions")
    def list_sessions() -> dict:
        return {"sessions": store.list()}

    @app.post("/api/sessions", status_code=201)
    def create_session(body: NewSession | None = None) -> dict:
        if body and body.id and store.exists(body.id):
            raise ApiError(409, "session_exists", f"A session named {body.id!r} exists already; pick another name.")
        return {"id": store.create(body.id if body else None).session_id}

    @app.delete("/api/sessions/{session_id}", status_code=204)
    def delete_session(session_id: str) -> Response:
        chat.known(session_id)
        store.delete(session_id)
        return Response(status_code=204)

    @app.get("/api/sessions/{session_id}/messages")
    def history(session_id: str) -> dict:
        session = chat.known(session_id)
        saved = session.get_state(PENDING_KEY)
        pending = [vars(p) for p in RunState.from_json(saved).pending] if saved else []
        return {"id": session_id, "messages": session.get_dialogs(), "pending_approvals": pending}


def _run_routes(app: FastAPI, chat: _Chat) -> None:
    @app.post("/api/sessions/{session_id}/messages")
    async def send(session_id: str, body: NewMessage) -> StreamingResponse:
        session = chat.known(session_id)
        return await chat.start(session, body.content, abandon_pending=True)

    @app.post("/api/sessions/{session_id}/approvals")
    async def approve(session_id: str, body: Decisions) -> StreamingResponse:
        session = chat.known(session_id)
        saved = session.get_state(PENDING_KEY)
        if not saved:
            raise ApiError(409, "nothing_pending", f"Session {session_id!r} has no run waiting for approval.")
        state = RunState.from_json(saved)
        for call_id, decision in body.decisions.items():
            state.approve(call_id) if decision.approved else state.reject(call_id, decision.reason)
        return await chat.start(session, state)


class _Chat:
    """Starts runs and streams them as Server-Sent Events."""

    def __init__(self, agent: Agent, store: Store, retries: int | None, runs: Any = None) -> None:
        self.agent, self.store, self.retries, self.runs = agent, store, retries, runs
        self.priced = needs_prices(agent)

    def known(self, session_id: str) -> Any:
        if not _valid_id(session_id) or not self.store.exists(session_id):
            raise ApiError(404, "unknown_session", f"No session {session_id!r}: create it with POST /api/sessions.")
        return self.store.session(session_id)

    async def start(self, session: Any, prompt: str | RunState, *, abandon_pending: bool = False) -> StreamingResponse:
        """Take the session (409 if busy) by starting the run, then stream the rest."""
        stream = self.runs(session, prompt) if self.runs is not None else \
            make_runner(session, retries=self.retries).run_stream_async(self.agent, prompt)
        events = stream.__aiter__()
        try:
            first = await events.__anext__()
        except SessionBusyError as error:
            raise ApiError(409, "session_busy", describe_error(error)) from None
        except StopAsyncIteration:
            first = None
        except Exception as error:
            await stream.aclose()
            raise _api_error(error) from None
        if abandon_pending:  # a new question replaces a run that was waiting for approval
            session.set_state(PENDING_KEY, None)
        return StreamingResponse(self._frames(session, stream, events, first), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def _frames(self, session: Any, stream: Any, events: AsyncIterator, first: Any) -> AsyncIterator[str]:
        try:
            if first is not None:
                yield _frame(event_view(first, priced=self.priced))
            async for event in events:
                yield _frame(event_view(event, priced=self.priced))
            result = stream.result
            save_pending(session, result)
            if result.pending_approvals:
                yield _frame({"type": "approval_required", **result_view(result, priced=self.priced)})
        except Exception as error:  # the answer has started (HTTP 200): report the failure in the stream
            yield _frame({"type": "error", "error": type(error).__name__, "message": describe_error(error)})
        finally:
            await stream.aclose()  # a closed tab stops the run; the session stays valid


def _frame(data: dict | None) -> str:
    return "" if data is None else f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _valid_id(session_id: str) -> bool:
    return re.fullmatch(SESSION_ID, session_id) is not None


def _api_error(error: Exception) -> ApiError:
    if isinstance(error, UserError):
        return ApiError(400, "bad_request", describe_error(error))
    if isinstance(error, ModelError):
        return ApiError(502, "model_error", describe_error(error))
    return ApiError(500, type(error).__name__, describe_error(error))


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse({"error": error.kind, "message": error.message}, status_code=error.status)

    @app.exception_handler(UserError)
    async def user_error(request: Request, error: UserError) -> JSONResponse:
        return JSONResponse({"error": "bad_request", "message": str(error)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def bad_body(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        return JSONResponse({"error": "bad_request", "message": f"Invalid request: {problems}."}, status_code=422)


def _require_token(app: FastAPI, token: str) -> None:
    @app.middleware("http")
    async def check_token(request: Request, call_next: Any) -> Response:
        if request.url.path.startswith(("/api/", "/openapi.json", "/docs")):
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip() \
                or request.query_params.get("token", "")
            if not secrets.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"error": "unauthorized", "message": "This server needs its token: send "
                                     "'Authorization: Bearer <token>' (the page takes it from ?token=...)."},
                                    status_code=401)
        return await call_next(request)
