"""Tracing: OpenTelemetry GenAI spans and metrics for every run, and DEBUG logs of what was sent.

Off unless the application set a tracer provider, called `configure_tracing(...)`, or set the standard
OTEL_EXPORTER_OTLP_ENDPOINT variable (with `agentsilex[tracing]` installed). Nothing happens at import; the
OpenTelemetry API is imported at the first run. See docs/tracing.md.
"""

from __future__ import annotations

from typing import Any

from . import setup
from .setup import reset_tracing


def configure_tracing(*, capture_content: bool | None = None, **options: Any) -> Any:
    """Send runs' spans somewhere, explicitly (see `exporters.configure_tracing` for the options); returns the
    tracer provider in use. `capture_content=True` records message and tool contents (never keys)."""
    from .exporters import configure_tracing as build

    provider, tracer, meter = build(setup.SCOPE, **options)
    setup.install(tracer, meter, capture_content)
    return provider


def observers() -> list[Any]:
    """The capabilities a run gets from here: Tracing when a tracer is set up, RequestLog at DEBUG (runner.py)."""
    import logging

    found: list[Any] = []
    if setup.active_tracer() is not None:
        from .capability import Tracing

        found.append(Tracing())
    if logging.getLogger("agentsilex").isEnabledFor(logging.DEBUG):
        from .log import RequestLog

        found.append(RequestLog())
    return found


__all__ = ["configure_tracing", "reset_tracing"]
