"""The repatriation service in-process: real SQLite in tmp_path, no Kafka, a fake clock.

Events stay in the outbox and liaison messages in ``liaison_message`` (no counterpart
endpoint is configured): that is where these tests read them. Counterpart calls are
signed like a real agency's. Test modules get these helpers through fixtures only.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nrm_contracts import Envelope
from nrm_deploy.testing import bearer
from nrm_runtime.fake_clock import FakeClock
from nrm_runtime.field_crypto import KeyRing
from repatriation.app import create_app
from repatriation.domain.signing import signed_headers
from repatriation.settings import CounterpartLink, RepatriationSettings

UNUSED_BROKER = "127.0.0.1:1"
SECRETS = {"VNM": "test-secret-vnm", "THA": "test-secret-tha", "LAO": "test-secret-lao"}
# A Monday in Cambodia (09:00 local), with no holiday in the following weeks.
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def counterparts() -> dict[str, CounterpartLink]:
    return {
        "VNM": CounterpartLink(organisations=("vnm-molisa", "vnm-mps"), secret=SECRETS["VNM"]),
        "THA": CounterpartLink(organisations=("tha-msdhs",), secret=SECRETS["THA"]),
    }


# The case events a test looks for: not the audit log's signed tree heads, which the
# sequencer writes to the same outbox whenever its interval passes during a test.
CASE_EVENTS_IN_OUTBOX = (
    "SELECT * FROM outbox WHERE event_type NOT LIKE '%.audit.tree_head_signed.%' ORDER BY sequence"
)


@pytest.fixture
def repatriation_db(tmp_path: Path) -> Path:
    return tmp_path / "repatriation.db"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def options() -> dict[str, Any]:
    """Settings a test changes before the service starts: parametrize ``options`` with
    ``{"sop_directories": [...], "counterparts": {...}, "deadline_sweep_seconds": ...}``."""
    return {}


@pytest.fixture
def settings(
    repatriation_db: Path, token_keys: Path, options: dict[str, Any]
) -> RepatriationSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": f"sqlite+aiosqlite:///{repatriation_db}",
        "kafka_bootstrap_servers": UNUSED_BROKER,
        "jwt_jwks_file": token_keys / "dev-jwks.json",
        "field_keys_file": token_keys / "field-keys.json",
        "liaison_poll_seconds": 0.05,
        **options,
        "counterparts": {**counterparts(), **options.get("counterparts", {})},
    }
    return RepatriationSettings(**values)


@pytest.fixture
def liaison_transport() -> httpx.AsyncBaseTransport | None:
    """How the service's messages reach counterparts (None: no endpoint is configured)."""
    return None


@pytest.fixture
def repatriation_app(
    settings: RepatriationSettings,
    clock: FakeClock,
    liaison_transport: httpx.AsyncBaseTransport | None,
) -> FastAPI:
    return create_app(settings, clock=clock, liaison_transport=liaison_transport)


@pytest.fixture
def client(repatriation_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(repatriation_app) as running:
        yield running


@pytest.fixture
def auth(mint: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """``auth("mosvy", "case_manager")``: the headers of a caller of that organisation."""

    def _auth(organisation: str, *roles: str, **options: Any) -> dict[str, str]:
        return bearer(mint(organisation, *roles, **options))

    return _auth


@pytest.fixture
def officer(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth("mosvy", "case_manager")


class Agency:
    """A counterpart agency calling the liaison API: bearer token, signature, key."""

    def __init__(self, client: TestClient, headers: dict[str, str], secret: str) -> None:
        self.client = client
        self.headers = headers
        self.secret = secret

    def signed(self, body: bytes, key: str | None = None) -> dict[str, str]:
        return {
            **self.headers,
            "Content-Type": "application/json",
            **signed_headers(
                self.secret, body, now=time.time(), idempotency_key=key or str(uuid.uuid4())
            ),
        }

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, headers=self.signed(b""))

    def post(self, path: str, payload: dict[str, Any], key: str | None = None) -> httpx.Response:
        body = json.dumps(payload).encode()
        return self.client.post(path, content=body, headers=self.signed(body, key))

    def step(self, case_id: str, step: str, **fields: Any) -> httpx.Response:
        return self.post(f"/liaison/cases/{case_id}/steps", {"step": step, **fields})


@pytest.fixture
def agency(client: TestClient, auth: Callable[..., dict[str, str]]) -> Callable[..., Agency]:
    """``agency("vnm-molisa", "VNM")``: that agency, signing with its country's secret."""

    def _agency(organisation: str, country: str, *roles: str, **options: Any) -> Agency:
        headers = auth(organisation, *(roles or ("liaison_officer",)), **options)
        return Agency(client, headers, SECRETS[country])

    return _agency


def person(**fields: Any) -> dict[str, Any]:
    return {
        "given_name": "Thi Lan",
        "family_name": "Nguyen",
        "sex": "female",
        "estimated_age": 24,
        **fields,
    }


def consent(basis: str = "own_consent", **fields: Any) -> dict[str, Any]:
    return {"status": "given", "basis": basis, "recorded_on": "2026-03-02", **fields}


@pytest.fixture
def outbound_case(client: TestClient, officer: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """``outbound_case(country="VNM", child=False)``: a case MOSVY opened, as answered."""

    def _open(country: str = "VNM", *, child: bool = False, **fields: Any) -> dict[str, Any]:
        body = {
            "identification_case_id": str(uuid.uuid4()),
            "counterpart_country": country,
            "person": person(estimated_age=15 if child else 24),
            "consent_to_return": consent("guardian" if child else "own_consent"),
            **fields,
        }
        response = client.post("/cases", json=body, headers=officer)
        assert response.status_code == 201, response.text
        opened: dict[str, Any] = response.json()
        return opened

    return _open


@pytest.fixture
def notification() -> Callable[..., dict[str, Any]]:
    """The body of a counterpart's notification of an inbound case."""

    def _body(*, child: bool = False, **fields: Any) -> dict[str, Any]:
        return {
            "counterpart_reference": f"MSDHS-{uuid.uuid4().hex[:8]}",
            "person": person(
                given_name="Sokha",
                family_name="Chan",
                sex="male",
                estimated_age=16 if child else 31,
            ),
            "consent_to_return": consent("best_interest_decision" if child else "own_consent"),
            "documents": ["victim_identification_form", "consent_to_return"],
            **fields,
        }

    return _body


@pytest.fixture
def outbox(repatriation_db: Path) -> Callable[[], list[Envelope]]:
    """The events recorded so far, in commit order, as a consumer would parse them."""

    def _events() -> list[Envelope]:
        connection = sqlite3.connect(repatriation_db)
        connection.row_factory = sqlite3.Row
        try:
            rows = connection.execute(CASE_EVENTS_IN_OUTBOX).fetchall()
        finally:
            connection.close()
        return [
            Envelope.from_kafka(
                row["message_key"].encode(),
                row["message_value"],
                {"content-type": row["content_type"].encode()},
            )
            for row in rows
        ]

    return _events


@pytest.fixture
def field_keys(token_keys: Path) -> KeyRing:
    """The service's field encryption keys (the test reads the database as an insider)."""
    return KeyRing.load(token_keys / "field-keys.json")


@pytest.fixture
def liaison_rows(repatriation_db: Path, field_keys: KeyRing) -> Callable[..., list[dict[str, Any]]]:
    """``liaison_rows("sent")``: the liaison messages stored, oldest first, their sealed
    bodies opened (``sealed_body`` keeps the stored text)."""

    def _rows(flow: str | None = None) -> list[dict[str, Any]]:
        connection = sqlite3.connect(repatriation_db)
        connection.row_factory = sqlite3.Row
        try:
            query = "SELECT * FROM liaison_message"
            arguments: tuple[str, ...] = ()
            if flow is not None:
                query += " WHERE flow = ?"
                arguments = (flow,)
            rows = connection.execute(query + " ORDER BY sequence", arguments).fetchall()
        finally:
            connection.close()
        return [_opened(dict(row), field_keys) for row in rows]

    return _rows


def _opened(row: dict[str, Any], keys: KeyRing) -> dict[str, Any]:
    record = str(uuid.UUID(row["id"]))
    row["sealed_body"] = row["body"]
    for field in ("body", "response_body"):
        if row[field] is not None:
            row[field] = keys.open(
                row[field], table="liaison_message", record_id=record, field=field
            )
    return row


@pytest.fixture
def steps() -> Callable[..., dict[str, Any]]:
    """``steps(case)``: the allowed steps of a case view, by id."""

    def _steps(case: dict[str, Any]) -> dict[str, Any]:
        return {step["step"]: step for step in case["allowed_steps"]}

    return _steps
