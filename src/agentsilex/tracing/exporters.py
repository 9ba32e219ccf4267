"""Building exporters: `configure_tracing(...)`, and what the first run does when only OTEL_* variables are set.

Loaded only when tracing is being switched on (see setup.py for the rules).
"""

from __future__ import annotations

import atexit
import os
from typing import Any

from ..errors import UserError

_owned_providers: list[Any] = []  # providers we created (flushed and shut down at exit)


def configure_tracing(scope: str, *, endpoint: str | None = None, protocol: str | None = None, exporter: Any = None,
                      tracer_provider: Any = None, meter_provider: Any = None,
                      service_name: str | None = None, headers: dict[str, str] | None = None) -> Any:
    """Send runs' spans somewhere, explicitly. Returns the tracer provider in use.

    - `tracer_provider=`: use this provider (yours, e.g. with an in-memory exporter in tests).
    - `exporter=`: a span exporter; agentsilex builds an SDK provider around it.
    - `endpoint=` / `protocol=` ("grpc" or "http/protobuf"): an OTLP exporter (needs `agentsilex[tracing]`).
    - with no argument: the OTLP exporter from the standard OTEL_* variables.
    """
    if tracer_provider is None:
        tracer_provider = _sdk_provider(_otlp_exporter(endpoint, protocol, headers) if exporter is None
                                        else exporter, service_name)
    if meter_provider is None and exporter is None and endpoint is not None:
        meter_provider = _sdk_meter_provider(endpoint, protocol, headers, service_name)
    return tracer_provider, tracer_provider.get_tracer(scope), _meter_from(meter_provider, scope)


def from_environment(scope: str) -> tuple[Any, Any]:
    """The OTLP exporters the standard variables describe: (tracer, meter)."""
    provider = _sdk_provider(_otlp_exporter(None, None, None), None)
    return provider.get_tracer(scope), _meter_from(_sdk_meter_provider(None, None, None, None), scope)


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


def _meter_from(meter_provider: Any, scope: str) -> Any:
    if meter_provider is not None:
        return meter_provider.get_meter(scope)
    try:
        from opentelemetry import metrics
    except ImportError:
        return None
    return metrics.get_meter(scope)


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
