"""OpenTelemetry tracing across HTTP and Kafka.

The trace context crosses Kafka inside the event (the CloudEvents ``traceparent``
extension), written into the outbox row with the state change, so a trace spans the
request that caused an event, the relay that published it and every handler of it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from nrm_runtime.settings import ServiceSettings, TelemetryExporter

_propagator = TraceContextTextMapPropagator()
TRACER_NAME = "nrm_runtime"


def configure_tracing(settings: ServiceSettings) -> TracerProvider:
    """Install the process's tracer provider; an exporter only when settings ask for one.

    A real SDK provider is installed even without an exporter, so that span contexts
    are valid and trace ids still propagate to other services that do export.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    exporter = _exporter(settings)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def _exporter(settings: ServiceSettings) -> SpanExporter | None:
    if settings.telemetry_exporter is TelemetryExporter.CONSOLE:
        return ConsoleSpanExporter()
    if settings.telemetry_exporter is TelemetryExporter.OTLP:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=settings.otlp_endpoint)
    return None


def shutdown_tracing() -> None:
    """Flush spans not yet exported (called when the service stops)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_millis=5_000)


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_traceparent() -> str:
    """The W3C ``traceparent`` of the current span; a new root span's when there is none."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    if "traceparent" in carrier:
        return carrier["traceparent"]
    # Outside any recorded span (a script, a test without a tracer provider): a new,
    # valid trace context, so the event still opens a trace that consumers continue.
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


@contextmanager
def span_from_traceparent(name: str, traceparent: str, kind: SpanKind) -> Iterator[Span]:
    """A span that continues the trace of ``traceparent`` (a consumed or relayed event)."""
    parent = _propagator.extract({"traceparent": traceparent})
    token = otel_context.attach(parent)
    try:
        with tracer().start_as_current_span(name, kind=kind) as span:
            yield span
    finally:
        otel_context.detach(token)
