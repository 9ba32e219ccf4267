"""Session stores: `SQLiteSession` (embedded default), `RedisSession`, `SQLAlchemySession` (PostgreSQL and co).

Each is imported on first use, so `import agentsilex.stores` loads neither redis nor SQLAlchemy.
"""

from __future__ import annotations

from typing import Any

from .base import PersistentSession, SessionStore

_LAZY = {"SQLiteSession": ".sqlite", "RedisSession": ".redis", "SQLAlchemySession": ".sqlalchemy"}

__all__ = ["SessionStore", "PersistentSession", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
