"""The ecosystem's protocols on the web chat's app, each a module of its own (docs/protocols.md):

    GET  /v1/models, POST /v1/chat/completions     OpenAI-compatible (openai_compat.py)
    POST /ag-ui                                    AG-UI events (agui.py)
    POST /api/vercel/chat                          the Vercel AI SDK UI message stream (vercel.py)
    GET  /.well-known/agent-card.json, POST /a2a   A2A, on the a2a-sdk (a2a.py; extra `a2a`)
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from .runs import Chat

# The app's token guards every path but the page (doors.py) and this one: the A2A card stays public, since a
# client reads it to learn how to authenticate.
PUBLIC = ("/.well-known/agent-card.json",)


def mount(app: FastAPI, chat: Chat, *, token: str | None = None) -> None:
    """Add every protocol's routes to `app`, all served by `chat` (one store, one set of limits)."""
    from . import agui, openai_compat, vercel

    openai_compat.mount(app, chat)
    agui.mount(app, chat)
    vercel.mount(app, chat)
    try:
        import a2a  # noqa: F401  (the a2a-sdk)
    except ImportError:
        _a2a_missing(app)
        return
    from . import a2a as a2a_door

    a2a_door.mount(app, chat, token=token)


def _a2a_missing(app: FastAPI) -> None:
    message = "A2A needs the a2a extra on the server: pip install -e '.[a2a]'."

    @app.get("/.well-known/agent-card.json", include_in_schema=False)
    @app.post("/a2a", include_in_schema=False)
    def no_a2a() -> JSONResponse:
        return JSONResponse({"error": "not_available", "message": message}, status_code=501)
