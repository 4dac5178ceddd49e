"""What create_service_app wires: health, metrics, topics, auth; and the broker before it connects.

The app is built but its lifespan is not entered: nothing connects to Kafka here.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from nrm_contracts import Topic
from nrm_runtime import service
from nrm_runtime.broker import Broker
from nrm_runtime.consumer import EventConsumer, Subscription
from nrm_runtime.health import health_router
from nrm_runtime.metrics import ServiceMetrics
from nrm_runtime.service import ServiceDefinition, create_service_app


@pytest.fixture
def service_app(make_settings, database_url, token_keys, cases, monkeypatch) -> FastAPI:
    # Tracing is process-wide: a unit test leaves the process's tracer provider alone.
    monkeypatch.setattr(service, "configure_tracing", lambda _settings: None)
    settings = make_settings(
        environment="test",
        database_url=database_url,
        jwt_jwks_file=token_keys / "dev-jwks.json",
        kafka_topic_prefix="t9.",
    )
    cases_router = APIRouter()

    @cases_router.get("/cases/{case_id}")
    async def read_case(case_id: str) -> dict[str, str]:
        return {"case_id": case_id}

    return create_service_app(
        ServiceDefinition(
            title="Referral",
            description="unit",
            settings=settings,
            tables=cases.metadata,
            owned_topic=Topic.REFERRAL,
            migrations=Path(__file__).parent / "startup-not-run-here",
            routers=[cases_router],
            subscriptions=[Subscription("referral", (Topic.IDENTIFICATION,), {})],
        )
    )


def test_the_broker_provisions_owned_subscribed_and_dead_letter_topics_prefixed(
    service_app,
) -> None:
    assert service_app.state.runtime.broker.topics == [
        "t9.nrm.identification",
        "t9.nrm.identification.dlq.referral",
        "t9.nrm.referral",
        "t9.nrm.referral.audit",  # its audit log's signed heads
    ]


def test_tokens_are_verified_against_the_configured_issuer_and_keys(
    service_app, token_keys
) -> None:
    verifier = service_app.state.token_verifier

    assert verifier.jwks_file == token_keys / "dev-jwks.json"
    assert (verifier.issuer, verifier.audience, verifier.algorithms) == (
        "nrm-dev-issuer",
        "nrm-backbone",
        frozenset({"ES256"}),
    )


def test_the_service_is_not_ready_while_the_broker_is_unreachable(service_app) -> None:
    response = TestClient(service_app).get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {
            "database": True,
            "broker": False,
            "consumers": False,
            "outbox": True,
        },
        "details": {},
    }


def test_a_consumer_far_behind_is_said_in_readiness_not_failed_on(service_app) -> None:
    from aiokafka import TopicPartition

    [consumer] = service_app.state.runtime.consumers
    limit = service_app.state.settings.consumer_behind_records
    consumer.lag = {TopicPartition("t9.nrm.identification", 0): limit + 1}

    response = TestClient(service_app).get("/readyz")

    # Unready here because this unit has no broker; the lag changes no check.
    assert set(response.json()["checks"]) == {"database", "broker", "consumers", "outbox"}
    assert response.json()["details"]["consumer_lag"] == {"referral": limit + 1}
    assert response.json()["details"]["consumers_behind"] is True


def test_an_unknown_route_of_a_service_has_the_error_shape(service_app) -> None:
    response = TestClient(service_app).get("/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_request_metrics_are_labelled_by_route_template_not_by_path(service_app) -> None:
    client = TestClient(service_app)
    client.get("/cases/c-17")
    client.get("/cases/c-18")

    metrics = client.get("/metrics")

    assert metrics.status_code == 200
    assert 'nrm_http_requests_total{method="GET",route="/cases/{case_id}",status="200"} 2.0' in (
        metrics.text
    )
    assert "c-17" not in metrics.text


# --- health probes ---------------------------------------------------------------------------


def probe_app(liveness, readiness) -> TestClient:
    app = FastAPI()
    app.state.metrics = ServiceMetrics()
    app.include_router(health_router(liveness=liveness, readiness=readiness))
    return TestClient(app)


async def up() -> bool:
    return True


async def down() -> bool:
    return False


@pytest.mark.parametrize(
    ("checks", "status", "body"),
    [
        ({"database": up, "broker": up}, 200, "ok"),
        ({"database": up, "broker": down}, 503, "unavailable"),
        ({}, 200, "ok"),
    ],
)
def test_readiness_is_503_when_any_check_fails(checks, status, body) -> None:
    response = probe_app({}, checks).get("/readyz")

    assert response.status_code == status
    assert response.json() == {
        "status": body,
        "checks": {name: check is up for name, check in checks.items()},
        "details": {},
    }


def test_liveness_reports_its_own_checks() -> None:
    client = probe_app({"tasks": down}, {"database": up})

    assert client.get("/healthz").status_code == 503
    assert client.get("/readyz").status_code == 200


def test_metrics_are_served_in_prometheus_text() -> None:
    response = probe_app({}, {}).get("/metrics")

    assert response.headers["content-type"].startswith("text/plain")
    assert "nrm_outbox_backlog" in response.text


# --- the broker and consumers before anything connects ---------------------------------------


async def test_the_producer_is_unavailable_before_the_broker_connects(settings) -> None:
    broker = Broker(settings, ["b", "a", "b"])

    assert broker.topics == ["a", "b"]
    assert not broker.connected.is_set()
    assert not await broker.is_reachable()
    with pytest.raises(RuntimeError, match="not connected"):
        _ = broker.producer


def test_a_consumer_without_progress_past_the_stall_limit_is_stalled(
    make_settings, database_url, database, broker, metrics
) -> None:
    settings = make_settings(database_url=database_url, consumer_stall_seconds=60)
    consumer = EventConsumer(
        Subscription("referral", (Topic.IDENTIFICATION,), {}), settings, database, broker, metrics
    )
    assert not consumer.is_stalled()

    consumer.last_progress = time.monotonic() - 61

    assert consumer.is_stalled()
