"""One trace spans the HTTP request in identification and the handler in referral.

The services export their spans over OTLP/HTTP, the standard protocol, to a collector
that this test runs: what any OpenTelemetry backend would receive.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from nrm_deploy.testing import bearer, eventually, on_both_engines, screening_form

# Every test here on SQLite and on PostgreSQL (production's database).
pytestmark = on_both_engines


class Span:
    def __init__(self, service: str, name: str, trace_id: str) -> None:
        self.service, self.name, self.trace_id = service, name, trace_id

    def __repr__(self) -> str:
        return f"{self.service}:{self.name}:{self.trace_id}"


class OtlpCollector(ThreadingHTTPServer):
    """Receives OTLP/HTTP protobuf trace exports on ``/v1/traces``."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ExportHandler)
        self.spans: list[Span] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/traces"


class _ExportHandler(BaseHTTPRequestHandler):
    server: OtlpCollector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        export = ExportTraceServiceRequest.FromString(body)
        with self.server.lock:
            for resource_spans in export.resource_spans:
                attributes = {
                    a.key: a.value.string_value for a in resource_spans.resource.attributes
                }
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        self.server.spans.append(
                            Span(attributes.get("service.name", ""), span.name, span.trace_id.hex())
                        )
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[OtlpCollector]:
    server = OtlpCollector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


GUARDIAN_CONSENT = [{"purpose": "referral", "given": True, "basis": "guardian"}]


def test_one_trace_spans_the_request_and_the_consuming_handler(
    start_service, mint, collector, monkeypatch
) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")  # export spans within 0.2 s
    exporting = {"telemetry_exporter": "otlp", "otlp_endpoint": collector.endpoint}
    identification = start_service("identification", **exporting)
    start_service("referral", wait_for="/readyz", **exporting)

    screened = httpx.post(
        f"{identification.url}/screenings",
        json={**screening_form(), "consents": GUARDIAN_CONSENT},
        headers=bearer(mint("moi-dahtjp", "screener")),
    )
    assert screened.status_code == 201
    # Referral acts on the Competent Authority's decision: that request starts the trace.
    response = httpx.post(
        f"{identification.url}/cases/{screened.json()['case_id']}/decisions",
        json={"stage": "preliminary", "outcome": "identified", "rationale": "reasonable grounds"},
        headers=bearer(mint("mosvy", "competent_authority")),
    )
    assert response.status_code == 201

    def request_and_handler_spans() -> tuple[Span, Span] | None:
        with collector.lock:
            spans = list(collector.spans)
        requests = [
            s
            for s in spans
            if s.service == "identification" and s.name == "POST /cases/{case_id}/decisions"
        ]
        handlers = [
            s
            for s in spans
            if s.service == "referral"
            and s.name == "process kh.nrm.identification.victim.presumed.v1"
        ]
        if requests and handlers:
            return requests[0], handlers[0]
        return None

    found = eventually(request_and_handler_spans, timeout=30)
    assert isinstance(found, tuple)
    request_span, handler_span = found
    assert request_span.trace_id == handler_span.trace_id
    with collector.lock:
        in_trace = {
            (s.service, s.name) for s in collector.spans if s.trace_id == request_span.trace_id
        }
    assert ("identification", "publish kh.nrm.identification.victim.presumed.v1") in in_trace
