"""The web chat: a FastAPI app with a small JSON API and a page that uses it (needs the `web` extra).

    agentsilex serve module:agent           # or, in your own server:
    from agentsilex.web import create_app
    app = create_app(agent, store=Store("sqlite:///sessions.db"))
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
