"""The web chat's server: the page (static files in this package) and the JSON API it uses.

API (also at /openapi.json and /docs); errors are `{"error": kind, "message": text}` with an HTTP status:
    GET    /api/info                          the agent's name, description, example prompts, model, store
    GET    /api/sessions                      the stored sessions, newest first
    POST   /api/sessions                      create one: {"id": optional name}
    DELETE /api/sessions/{id}                 delete one
    GET    /api/sessions/{id}/messages        its history, the calls waiting for approval, its recorded usage
    POST   /api/sessions/{id}/messages        {"content": text}: the run's events as Server-Sent Events
    POST   /api/sessions/{id}/approvals       {"decisions": {call_id: {"approved": bool, "reason": text}}}:
                                              resume the paused run, events as Server-Sent Events
Each SSE frame is `data: <json>`: the events of `agentsilex.app.common.event_view` (partial_output, tool_call,
tool_response, agent_handoff, final_result), `approval_required` when the run pauses, `error` if it fails.
A session runs one answer at a time: a second one gets 409 `session_busy`, never interleaved turns.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from importlib.resources import files
from typing import Any, AsyncIterator, Iterable, Literal
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from ...agent import Agent
from ...errors import UserError
from ...questions import Answer, Question, answering
from ..common import Store, describe_error, event_view, result_view
from . import protocols
from .asking import WebAsker, question_view
from .doors import Doors, trusted_hosts
from .runs import MAX_CONTENT, SESSION_ID, ApiError, Chat, Run, as_api_error, error_body, error_response

STATIC = files("agentsilex.app.web") / "static"


class NewSession(BaseModel):
    id: str | None = Field(default=None, pattern=SESSION_ID, description="A name; a random one if left out.")


class NewMessage(BaseModel):
    content: str = Field(min_length=1, max_length=MAX_CONTENT, description="The user's message.")


class Decision(BaseModel):
    approved: bool
    reason: str = ""


class QuestionAnswer(BaseModel):
    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None


class Decisions(BaseModel):
    decisions: dict[str, Decision] = Field(description="One decision per waiting call id.")


def create_app(agent: Agent, *, store: Store | None = None, token: str | None = None,
               retries: int | None = None, examples: list[str] | None = None, public_url: str | None = None,
               host: str | None = None, allowed_hosts: Iterable[str] = (), runs: Any = None) -> FastAPI:
    """The web chat for `agent`, its sessions in `store`; with `token`, every API call must carry it.
    `examples`: prompts the empty page offers to try (`agentsilex serve --example ...`). The same app speaks
    the ecosystem's protocols (docs/protocols.md); `public_url` (such as `http://127.0.0.1:8000`) is the
    address clients reach it at, for the A2A agent card (default: the address each request came to).

    Requests must address a trusted host (loopback, `host` -- the address served on --, `allowed_hosts` and
    the host of `public_url`), else 421: see doors.py, which guards every route, including routes mounted on
    this app later, and answers in the shape of the protocol a request spoke. `runs(session, prompt)`, if given,
    starts each answer instead of a Runner (durable runs: agentsilex.durable.temporal)."""
    chat = Chat(agent, store or Store(), retries, public_url, runs)
    app = FastAPI(title=f"agentsilex: {agent.name}", description=agent.description or "Chat with an agentsilex agent.",
                  version="1")
    app.state.error_shapes = []
    trusted = trusted_hosts(host, [*allowed_hosts, *([urlsplit(public_url).hostname or ""] if public_url else [])])
    app.add_middleware(Doors, hosts=trusted, token=token or None, public=protocols.PUBLIC,
                       error_body=lambda path, *error: error_body(app.state.error_shapes, path, *error))
    _errors(app)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/api/info")
    def info() -> dict:
        model = agent.model if isinstance(agent.model, str) else getattr(agent.model, "name", "model")
        return {"agent": agent.name, "description": agent.description, "examples": list(examples or []),
                "model": model, "store": chat.store.url}

    _session_routes(app, chat)
    _run_routes(app, chat)
    protocols.mount(app, chat, token=token)
    return app


def _session_routes(app: FastAPI, chat: Chat) -> None:
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
        state = chat.pending(session)
        pending = [vars(p) for p in state.pending] if state else []
        return {"id": session_id, "messages": session.get_dialogs(), "pending_approvals": pending,
                "usage": chat.recorded_usage(session)}


def _run_routes(app: FastAPI, chat: Chat) -> None:
    @app.post("/api/sessions/{session_id}/messages")
    async def send(session_id: str, body: NewMessage) -> StreamingResponse:
        session = chat.known(session_id)
        return _stream(chat, await chat.begin(session, body.content, abandon_pending=True), session_id)

    @app.post("/api/sessions/{session_id}/approvals")
    async def approve(session_id: str, body: Decisions) -> StreamingResponse:
        session = chat.known(session_id)
        if chat.pending(session) is None:
            raise ApiError(409, "nothing_pending", f"Session {session_id!r} has no run waiting for approval.")
        decisions = {call_id: (d.approved, d.reason) for call_id, d in body.decisions.items()}
        return _stream(chat, await chat.begin(session, chat.resume(session, decisions)), session_id)

    @app.post("/api/sessions/{session_id}/answers/{question_id}", status_code=204)
    async def answer(session_id: str, question_id: str, body: QuestionAnswer) -> Response:  # on the asker's loop
        asker = chat.askers.get(session_id)
        if asker is None or not asker.answer(question_id, Answer(body.action, body.content)):
            raise ApiError(404, "unknown_question", f"No question {question_id!r} waits in session {session_id!r} "
                           "(answered already, or its run ended).")
        return Response(status_code=204)


def _stream(chat: Chat, run: Run, session_id: str) -> StreamingResponse:
    return StreamingResponse(_frames(chat, run, session_id), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _frames(chat: Chat, run: Run, session_id: str) -> AsyncIterator[str]:
    asker = WebAsker() if chat.asking else None  # a tool's server may ask the person a question (asking.py)
    if asker is not None:
        chat.askers[session_id] = asker
    try:
        with answering(asker) if asker is not None else nullcontext():
            async for event in (run.events() if asker is None else asker.merged(run.events())):
                yield _frame(question_view(event) if isinstance(event, Question) else
                             event_view(event, priced=chat.priced))
        result = run.result
        run.keep_pending()
        if result.pending_approvals:
            yield _frame({"type": "approval_required", **result_view(result, priced=chat.priced)})
    except Exception as error:  # the answer has started (HTTP 200): report the failure in the stream
        yield _frame({"type": "error", "error": type(error).__name__, "message": describe_error(error)})
    finally:
        if asker is not None and chat.askers.get(session_id) is asker:
            del chat.askers[session_id]
        await run.close()  # a closed tab stops the run; the session stays valid


def _frame(data: dict | None) -> str:
    return "" if data is None else f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(request, error.status, error.kind, error.message)

    @app.exception_handler(UserError)
    async def user_error(request: Request, error: UserError) -> JSONResponse:
        return error_response(request, 400, "bad_request", str(error))

    @app.exception_handler(RequestValidationError)
    async def bad_body(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        return error_response(request, 422, "bad_request", f"Invalid request: {problems}.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:  # never a traceback to a client
        problem = as_api_error(error)
        return error_response(request, problem.status, problem.kind, problem.message)
