"""Where spans go: the application's tracer provider, `configure_tracing(...)`, or the standard OTEL_* variables.

Nothing here runs at `import agentsilex`. The first run asks `active_tracer()` once; from then on the answer is
cached until `configure_tracing` or `reset_tracing` changes it. Rules, in order:

1. A tracer provider the application already set (`opentelemetry.trace.set_tracer_provider`) is used as it is,
   never replaced.
2. `configure_tracing(...)` installs an SDK provider with an OTLP (or any) exporter.
3. Otherwise, if `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set and the `tracing` extra is
   installed, the first run does what `configure_tracing()` would: gRPC for port 4317 or
   `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, HTTP/protobuf otherwise.
4. Otherwise tracing is off: no span object is ever created (the cost is one cached check per run).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from ..errors import UserError

logger = logging.getLogger("agentsilex")

_lock = threading.Lock()
_decided = False
_tracer: Any = None  # an opentelemetry Tracer, or None when tracing is off
_meter: Any = None
_capture_content: bool | None = None  # None: read OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT

SCOPE = "agentsilex"
CONTENT_VARIABLE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


def active_tracer() -> Any:
    """The tracer runs use, or None when tracing is off. Decided once (cheap afterwards)."""
    if _decided:
        return _tracer
    with _lock:
        if not _decided:
            _decide()
    return _tracer


def active_meter() -> Any:
    active_tracer()
    return _meter


def capture_content() -> bool:
    """Whether message and tool contents go on spans (off unless the user opts in)."""
    if _capture_content is not None:
        return _capture_content
    return os.environ.get(CONTENT_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def reset_tracing() -> None:
    """Forget the decision (tests, or after the application installs its own provider)."""
    global _decided, _tracer, _meter, _capture_content
    with _lock:
        _decided, _tracer, _meter, _capture_content = False, None, None, None


def _decide() -> None:
    global _decided, _tracer, _meter
    _decided = True
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return
    try:
        from opentelemetry import metrics, trace
    except ImportError:  # opentelemetry-api is a dependency; a broken install just means no tracing
        return
    provider = trace.get_tracer_provider()
    if not isinstance(provider, trace.ProxyTracerProvider):  # the application's own: use it as it is
        _tracer = provider.get_tracer(SCOPE)
        _meter = metrics.get_meter(SCOPE)
        return
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return
    from .exporters import from_environment  # only when the variable is set

    try:
        _tracer, _meter = from_environment(SCOPE)
    except UserError as exc:  # the variable is set but the extra is missing: say so once, run untraced
        logger.warning("%s", exc)


def install(tracer: Any, meter: Any, capture_content: bool | None) -> None:
    """Use this tracer and meter from now on (`configure_tracing` builds them)."""
    global _decided, _tracer, _meter, _capture_content
    with _lock:
        _tracer, _meter, _capture_content, _decided = tracer, meter, capture_content, True
