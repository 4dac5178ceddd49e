"""Bad input never breaks a service: oversized bodies, malformed JSON and injection
strings in every text field answer 4xx (or are stored as the plain text they are, and
given back as JSON, never as markup), never 5xx."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nrm_deploy.testing import bearer

INJECTIONS = [
    "<script>alert(1)</script>",
    "'; DROP TABLE repatriation_case; --",
    '" OR 1=1 --',
    "{{7*7}}${7*7}",
    "../../etc/passwd",
    "\u0000nul",
    "\u202eRTL override",
    '=HYPERLINK("http://evil.example")',
    "a" * 5000,
]
CONSENT = {"status": "given", "basis": "own_consent", "recorded_on": "2026-03-02"}


def _case(**changes: Any) -> dict[str, Any]:
    person = {"given_name": "Dara", "family_name": "Sok", "sex": "male", "estimated_age": 30}
    body: dict[str, Any] = {
        "identification_case_id": str(uuid.uuid4()),
        "counterpart_country": "VNM",
        "person": person,
        "consent_to_return": CONSENT,
    }
    for dotted, value in changes.items():
        target = body
        *parents, leaf = dotted.split(".")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return body


FACILITY: dict[str, Any] = {
    "organisation_id": "ngo-kdei",
    "name": "Bad Input House",
    "facility_type": "residential_shelter",
    "services": ["safe_accommodation"],
    "eligibility": {
        "sexes": ["female"],
        "min_age": 18,
        "max_age": 60,
        "exploitation_types": ["forced_labour"],
        "nationalities": [],
    },
    "languages": ["km"],
    "location": {"province_code": "21"},
    "contacts": {"phone": "+855 12 000 000"},
    "beds_total": 4,
}
# (service, text field): every free-text field of the services' create requests.
TEXT_FIELDS = [
    ("repatriation", "person.given_name"),
    ("repatriation", "person.family_name"),
    ("repatriation", "sop_version"),
    ("shelter-registry", "name"),
    ("shelter-registry", "contacts.phone"),
    ("shelter-registry", "contacts.email"),
    ("shelter-registry", "contacts.address"),
]


def _settings(tmp_path: Path, token_keys: Path, name: str) -> dict[str, Any]:
    return {
        "environment": "test",
        "database_url": f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}",
        "kafka_bootstrap_servers": "127.0.0.1:1",
        "jwt_jwks_file": token_keys / "dev-jwks.json",
        "field_keys_file": token_keys / "field-keys.json",
        "max_request_body_bytes": 64 * 1024,
    }


class Clients:
    """The service a test names, started on first use (one app per test, not two)."""

    def __init__(self, tmp_path: Path, token_keys: Path) -> None:
        self.tmp_path, self.token_keys = tmp_path, token_keys
        self.running: dict[str, TestClient] = {}

    def __getitem__(self, service: str) -> TestClient:
        if service not in self.running:
            client = TestClient(self._app(service))
            client.__enter__()
            self.running[service] = client
        return self.running[service]

    def _app(self, service: str) -> Any:
        values = _settings(self.tmp_path, self.token_keys, service)
        if service == "repatriation":
            from repatriation.app import create_app as repatriation_app
            from repatriation.settings import RepatriationSettings

            return repatriation_app(RepatriationSettings(**values))
        from shelter_registry.app import create_app as shelter_app
        from shelter_registry.settings import ShelterRegistrySettings

        return shelter_app(ShelterRegistrySettings(**values, load_reference_data=True))

    def close(self) -> None:
        for client in self.running.values():
            client.__exit__(None, None, None)


@pytest.fixture
def clients(tmp_path: Path, token_keys: Path) -> Iterator[Clients]:
    running = Clients(tmp_path, token_keys)
    yield running
    running.close()


def _post(clients, mint, service: str, body: Any, *, raw: bytes | None = None):
    if service == "repatriation":
        path, headers = "/cases", bearer(mint("mosvy", "case_manager"))
    else:
        path, headers = "/facilities", bearer(mint("ngo-kdei", "provider_staff"))
    content = raw if raw is not None else json.dumps(body).encode()
    return clients[service].post(
        path, content=content, headers={**headers, "Content-Type": "application/json"}
    )


def _with(body: dict[str, Any], dotted: str, value: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    target = copy
    *parents, leaf = dotted.split(".")
    for parent in parents:
        target = target.setdefault(parent, {})
    target[leaf] = value
    return copy


@pytest.mark.parametrize("injection", INJECTIONS, ids=range(len(INJECTIONS)))
@pytest.mark.parametrize(("service", "field"), TEXT_FIELDS)
def test_an_injection_string_in_a_text_field_is_refused_or_kept_as_plain_text(
    clients, mint, service, field, injection
) -> None:
    base = _case() if service == "repatriation" else FACILITY
    response = _post(clients, mint, service, _with(base, field, injection))

    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(("application/json", "application/problem"))
    assert response.headers["x-content-type-options"] == "nosniff"
    if response.status_code < 300:
        # Stored and given back exactly as the text it is: JSON-escaped, never markup.
        answered = response.json()
        for part in field.split("."):
            answered = answered[part]
        assert answered == injection
    else:
        assert response.status_code == 422
        assert response.json()["error"]["field"].startswith(field.split(".")[0])


@pytest.mark.parametrize("service", ["repatriation", "shelter-registry"])
def test_malformed_json_is_422_and_nothing_is_stored(clients, mint, service, tmp_path) -> None:
    table = "repatriation_case" if service == "repatriation" else "facility"
    before = _count(clients, service, tmp_path, table)

    response = _post(clients, mint, service, None, raw=b'{"person": {"given_name": "Dara",')

    assert response.status_code == 422, response.text
    assert _count(clients, service, tmp_path, table) == before


def _count(clients: Clients, service: str, tmp_path: Path, table: str) -> int:
    clients[service]  # started: its tables exist
    connection = sqlite3.connect(tmp_path / f"{service}.db")
    try:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        connection.close()


@pytest.mark.parametrize("service", ["repatriation", "shelter-registry"])
def test_an_oversized_body_is_413(clients, mint, service) -> None:
    response = _post(clients, mint, service, None, raw=b'{"pad": "' + b"x" * 100_000 + b'"}')

    assert response.status_code == 413, response.text


@pytest.mark.parametrize("service", ["repatriation", "shelter-registry"])
def test_a_body_that_is_not_an_object_is_422(clients, mint, service) -> None:
    for raw in (b"[]", b"null", b"42", b'"text"'):
        assert _post(clients, mint, service, None, raw=raw).status_code == 422
