"""HTTP hardening of every service: headers, body limit, failed-authentication limit, error shape.

The app is built by create_service_app with its lifespan not entered: no database or
Kafka is touched by these routes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from nrm_contracts import Topic
from nrm_runtime import service
from nrm_runtime.auth import CurrentPrincipal
from nrm_runtime.hardening import DOCS_POLICY, AuthFailureLimiter
from nrm_runtime.http import RequestModel
from nrm_runtime.service import ServiceDefinition, create_service_app

PERSONAL = "/persons/p-1"


class Note(RequestModel):
    text: str


@pytest.fixture
def make_app(make_settings, token_keys, cases, monkeypatch, tmp_path):
    monkeypatch.setattr(service, "configure_tracing", lambda _settings: None)

    def _app(**settings: object) -> FastAPI:
        router = APIRouter()

        @router.get("/persons/{person_id}")
        async def read_person(person_id: str, principal: CurrentPrincipal) -> dict[str, str]:
            return {"person_id": person_id, "by": principal.organisation}

        @router.post("/notes")
        async def add_note(note: Note) -> dict[str, int]:
            return {"length": len(note.text)}

        @router.get("/boom")
        async def boom() -> None:
            raise RuntimeError("Sokha Chan's record failed")

        values: dict[str, object] = {
            "environment": "test",
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'unit.db'}",
            "jwt_jwks_file": token_keys / "dev-jwks.json",
            **settings,
        }
        return create_service_app(
            ServiceDefinition(
                title="Unit",
                description="unit",
                settings=make_settings(**values),
                tables=cases.metadata,
                owned_topic=Topic.REFERRAL,
                migrations=Path(__file__).parent / "startup-not-run-here",
                routers=[router],
            )
        )

    return _app


@pytest.fixture
def client(make_app) -> TestClient:
    return TestClient(make_app(), raise_server_exceptions=False)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "path", [PERSONAL, "/healthz", "/metrics", "/docs", "/openapi.json", "/nowhere"]
)
def test_every_response_carries_the_security_headers(client, mint, path) -> None:
    response = client.get(path, headers=bearer(mint("mosvy", "case_manager")))

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_api_responses_allow_nothing_to_load_and_are_never_cached(client, mint) -> None:
    response = client.get(PERSONAL, headers=bearer(mint("mosvy", "case_manager")))

    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "script-src" not in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/docs", "/openapi.json"])
def test_health_metrics_and_docs_may_be_cached(client, path) -> None:
    assert "cache-control" not in client.get(path).headers


def test_errors_are_not_cached_either(client) -> None:
    assert client.get(PERSONAL).headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_policy_admits_exactly_what_the_page_loads(client, path) -> None:
    response = client.get(path)
    policy = response.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    page = response.text

    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    for source in re.findall(r'<script src="([^"]+)"', page):
        assert any(source.startswith(allowed) for allowed in directives["script-src"])
    for source in re.findall(r'<link[^>]+href="([^"]+)"', page):
        kinds = directives["style-src"] + directives["img-src"]
        assert any(source.startswith(allowed) for allowed in kinds if "'" not in allowed)
    inline = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert len([h for h in directives["script-src"] if h.startswith("'sha256-")]) == len(inline)
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["connect-src"] == ["'self'"]  # the page fetches /openapi.json only


def test_the_inline_script_hash_is_the_scripts(client) -> None:
    import base64
    import hashlib

    response = client.get("/docs")
    [script] = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()

    assert f"'sha256-{digest}'" in response.headers["content-security-policy"]
    assert DOCS_POLICY.startswith("default-src 'none'")


def test_a_body_over_the_limit_is_413_in_the_error_shape(make_app) -> None:
    client = TestClient(make_app(max_request_body_bytes=2048))

    response = client.post("/notes", json={"text": "x" * 3000})

    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "payload_too_large", "message": "the request body exceeds 2048 bytes"}
    }
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_streamed_body_without_length_is_cut_at_the_limit_too(make_app) -> None:
    client = TestClient(make_app(max_request_body_bytes=2048))

    def chunks():
        for _ in range(10):
            yield b'{"text": "' + b"x" * 500

    response = client.post("/notes", content=chunks(), headers={"content-type": "application/json"})

    assert response.status_code == 413


def test_a_body_within_the_limit_is_served(make_app) -> None:
    client = TestClient(make_app(max_request_body_bytes=2048))

    response = client.post("/notes", json={"text": "x" * 1500})

    assert (response.status_code, response.json()) == (200, {"length": 1500})


def test_the_default_limit_is_one_mebibyte(client) -> None:
    assert client.post("/notes", json={"text": "x" * (1024 * 1024)}).status_code == 413
    assert client.post("/notes", json={"text": "x" * 1000}).status_code == 200


def test_repeated_failed_authentication_is_429_with_retry_after(make_app, mint) -> None:
    client = TestClient(make_app(auth_failure_limit=3, auth_failure_window_seconds=60))
    for _ in range(3):
        assert client.get(PERSONAL, headers=bearer("not-a-token")).status_code == 401

    blocked = client.get(PERSONAL, headers=bearer("another-bad-token"))

    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_failed_authentications"
    assert 1 <= int(blocked.headers["retry-after"]) <= 61
    assert client.get(PERSONAL).status_code == 429  # nothing to verify: refused at once
    # A valid token from the same address is served: other callers' failures are not its.
    assert client.get(PERSONAL, headers=bearer(mint("mosvy", "case_manager"))).status_code == 200
    assert client.get("/healthz").status_code != 429  # probes are never blocked


def test_a_valid_token_is_served_from_an_address_with_a_hundred_failures(make_app, mint) -> None:
    app = make_app(auth_failure_limit=20, auth_failure_window_seconds=60)
    gateway = TestClient(app, client=("203.0.113.7", 40000))
    elsewhere = TestClient(app, client=("198.51.100.9", 40000))
    statuses = [gateway.get(PERSONAL, headers=bearer(f"guess-{n}")).status_code for n in range(100)]

    served = gateway.get(PERSONAL, headers=bearer(mint("ngo-shelter-a", "provider_staff")))
    failing = gateway.get(PERSONAL, headers=bearer("guess-101"))
    other_address = elsewhere.get(PERSONAL, headers=bearer("a-first-mistake"))

    assert statuses == [401] * 20 + [429] * 80
    assert (served.status_code, served.json()["by"]) == (200, "ngo-shelter-a")
    assert failing.status_code == 429
    assert failing.json() == {
        "error": {"code": "too_many_failed_authentications", "message": "too many failed attempts"}
    }
    assert 1 <= int(failing.headers["retry-after"]) <= 61
    assert failing.headers["x-content-type-options"] == "nosniff"
    assert "www-authenticate" not in failing.headers
    assert other_address.status_code == 401


def test_a_failing_token_is_limited_from_any_address(make_app, mint) -> None:
    app = make_app(auth_failure_limit=3)
    statuses = [
        TestClient(app, client=(f"198.51.100.{n}", 40000))
        .get(PERSONAL, headers=bearer("expired-and-retried"))
        .status_code
        for n in range(5)
    ]
    fresh = TestClient(app, client=("198.51.100.50", 40000))

    assert statuses == [401, 401, 401, 429, 429]
    assert fresh.get(PERSONAL, headers=bearer(mint("mosvy", "case_manager"))).status_code == 200


def test_a_credential_is_counted_under_a_hash_never_the_token(make_app) -> None:
    app = make_app(auth_failure_limit=3)
    client = TestClient(app)
    client.get(PERSONAL, headers=bearer("Secret.Token.Value"))

    keys = list(app.state.credential_failure_limiter._failures)
    assert len(keys) == 1 and "Secret" not in keys[0]
    assert list(app.state.auth_failure_limiter._failures) == ["testclient"]


def test_failures_below_the_limit_do_not_block(make_app, mint) -> None:
    client = TestClient(make_app(auth_failure_limit=3))
    for _ in range(2):
        client.get(PERSONAL)

    assert client.get(PERSONAL, headers=bearer(mint("mosvy", "case_manager"))).status_code == 200


def test_the_limiter_counts_per_address_in_a_sliding_window() -> None:
    now = [1000.0]
    limiter = AuthFailureLimiter(2, 60, clock=lambda: now[0])
    limiter.record_failure("10.0.0.1")
    now[0] += 30
    limiter.record_failure("10.0.0.1")

    assert limiter.retry_after("10.0.0.1") == pytest.approx(30)
    assert limiter.retry_after("10.0.0.2") == 0
    now[0] += 30.5
    assert limiter.retry_after("10.0.0.1") == 0


def test_the_limiter_forgets_the_least_recent_address_beyond_its_capacity() -> None:
    limiter = AuthFailureLimiter(1, 60, max_clients=2)
    for address in ("a", "b", "c"):
        limiter.record_failure(address)

    assert [limiter.retry_after(a) > 0 for a in ("a", "b", "c")] == [False, True, True]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", PERSONAL, {}, 401),
        ("get", "/nowhere", {}, 404),
        ("delete", "/notes", {}, 405),
        (
            "post",
            "/notes",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            422,
        ),
        ("post", "/notes", {"json": {"text": "a", "extra": 1}}, 422),
        ("post", "/notes", {"content": b"x" * (1024 * 1024 + 1)}, 413),
        ("get", "/boom", {}, 500),
    ],
)
def test_every_error_keeps_the_error_shape(client, method, path, kwargs, status) -> None:
    response = getattr(client, method)(path, **kwargs)

    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert {"code", "message"} <= set(response.json()["error"])
    assert "Sokha" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
