"""Tracing: OpenTelemetry GenAI spans and metrics for every run, and DEBUG logs of what was sent.

Off unless the application set a tracer provider, called `configure_tracing(...)`, or set the standard
OTEL_EXPORTER_OTLP_ENDPOINT variable (with `agentsilex[tracing]` installed). Nothing happens at import; the
OpenTelemetry API is imported at the first run. See docs/tracing.md.
"""

from .setup import configure_tracing, reset_tracing

__all__ = ["configure_tracing", "reset_tracing"]
