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

import atexit
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
_owned_providers: list[Any] = []  # providers we created (flushed and shut down at exit)

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


def configure_tracing(*, endpoint: str | None = None, protocol: str | None = None, exporter: Any = None,
                      tracer_provider: Any = None, meter_provider: Any = None, capture_content: bool | None = None,
                      service_name: str | None = None, headers: dict[str, str] | None = None) -> Any:
    """Send runs' spans somewhere, explicitly. Returns the tracer provider in use.

    - `tracer_provider=`: use this provider (yours, e.g. with an in-memory exporter in tests).
    - `exporter=`: a span exporter; agentsilex builds an SDK provider around it.
    - `endpoint=` / `protocol=` ("grpc" or "http/protobuf"): an OTLP exporter (needs `agentsilex[tracing]`).
    - with no argument: the OTLP exporter from the standard OTEL_* variables.
    `capture_content=True` records message and tool contents (never API keys or Authorization headers).
    """
    global _decided, _tracer, _meter, _capture_content
    with _lock:
        _capture_content = capture_content
        if tracer_provider is None:
            tracer_provider = _sdk_provider(_otlp_exporter(endpoint, protocol, headers) if exporter is None
                                            else exporter, service_name)
        if meter_provider is None and exporter is None and tracer_provider is not None and endpoint is not None:
            meter_provider = _sdk_meter_provider(endpoint, protocol, headers, service_name)
        _tracer = tracer_provider.get_tracer(SCOPE)
        _meter = _meter_from(meter_provider)
        _decided = True
        return tracer_provider


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
    try:
        provider = _sdk_provider(_otlp_exporter(None, None, None), None)
        meter_provider = _sdk_meter_provider(None, None, None, None)
    except UserError as exc:  # the variable is set but the extra is missing: say so once, run untraced
        logger.warning("%s", exc)
        return
    _tracer = provider.get_tracer(SCOPE)
    _meter = _meter_from(meter_provider)


def _protocol(endpoint: str | None, protocol: str | None) -> str:
    protocol = (protocol or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "").strip().lower()
    if protocol:
        if protocol not in ("grpc", "http/protobuf", "http"):
            raise UserError(f"Unknown OTLP protocol {protocol!r}: use 'grpc' or 'http/protobuf'.")
        return "grpc" if protocol == "grpc" else "http"
    endpoint = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") \
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or ""
    return "grpc" if endpoint.rstrip("/").endswith(":4317") else "http"


def _http_url(endpoint: str, signal: str) -> str:
    # The HTTP exporters take the full URL when given one explicitly; the base variable needs the signal path.
    return endpoint if endpoint.rstrip("/").endswith(f"/v1/{signal}") else endpoint.rstrip("/") + f"/v1/{signal}"


def _otlp_exporter(endpoint: str | None, protocol: str | None, headers: dict[str, str] | None) -> Any:
    kind = _protocol(endpoint, protocol)
    try:
        if kind == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # type: ignore
    except ImportError as exc:
        raise UserError("Exporting traces needs the tracing extra: pip install 'agentsilex[tracing]'.") from exc
    options: dict[str, Any] = {}
    if headers:
        options["headers"] = headers
    if endpoint:
        options["endpoint"] = endpoint if kind == "grpc" else _http_url(endpoint, "traces")
        if kind == "grpc" and endpoint.startswith("http://"):
            options["insecure"] = True
    return OTLPSpanExporter(**options)


def _sdk_provider(exporter: Any, service_name: str | None) -> Any:
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise UserError("Tracing needs the tracing extra: pip install 'agentsilex[tracing]'.") from exc
    attributes = {"service.name": service_name} if service_name else {}
    if not service_name and not os.environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = "agentsilex"
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _own(provider)
    return provider


def _sdk_meter_provider(endpoint: str | None, protocol: str | None, headers: dict[str, str] | None,
                        service_name: str | None) -> Any:
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        if _protocol(endpoint, protocol) == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter  # type: ignore
    except ImportError:
        return None  # metrics are a bonus: traces still go out
    options: dict[str, Any] = {"headers": headers} if headers else {}
    if endpoint:
        options["endpoint"] = endpoint if _protocol(endpoint, protocol) == "grpc" else _http_url(endpoint, "metrics")
    resource = Resource.create({"service.name": service_name or os.environ.get("OTEL_SERVICE_NAME") or "agentsilex"})
    provider = MeterProvider(resource=resource, metric_readers=[PeriodicExportingMetricReader(
        OTLPMetricExporter(**options))])
    _own(provider)
    return provider


def _meter_from(meter_provider: Any) -> Any:
    if meter_provider is not None:
        return meter_provider.get_meter(SCOPE)
    try:
        from opentelemetry import metrics
    except ImportError:
        return None
    return metrics.get_meter(SCOPE)


def _own(provider: Any) -> None:
    if not _owned_providers:
        atexit.register(_shutdown)  # flush what is buffered, so a short script's run still arrives
    _owned_providers.append(provider)


def _shutdown() -> None:
    for provider in _owned_providers:
        try:
            provider.shutdown()
        except Exception:  # exit must not fail because a collector went away
            pass
