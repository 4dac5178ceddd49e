"""The identification service in-process: real SQLite in tmp_path, no Kafka.

The broker connection loop runs in the background against a port nobody listens on and
keeps retrying; events stay in the outbox, which is where these tests read them.
Test modules get these helpers through fixtures only, never by importing this module.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from identification.app import create_app
from identification.settings import IdentificationSettings
from nrm_contracts import Envelope
from nrm_deploy.testing import bearer
from nrm_runtime.cli import main as nrm
from nrm_runtime.fake_clock import FakeClock
from nrm_runtime.field_crypto import create_key_file

UNUSED_BROKER = "127.0.0.1:1"


# The case events a test looks for: not the audit log's signed tree heads, which the
# sequencer writes to the same outbox whenever its interval passes during a test.
CASE_EVENTS_IN_OUTBOX = (
    "SELECT * FROM outbox WHERE event_type NOT LIKE '%.audit.tree_head_signed.%' ORDER BY sequence"
)


@pytest.fixture
def identification_db(tmp_path: Path) -> Path:
    return tmp_path / "identification.db"


@pytest.fixture
def clock() -> FakeClock:
    """Monday 2 March 2026, 10:00 in Phnom Penh (the screenings' encounter day)."""
    return FakeClock(datetime(2026, 3, 2, 3, 0, tzinfo=UTC))


@pytest.fixture
def watch_seconds() -> float:
    """How often the app's deadline watcher looks: rarely, unless a test says otherwise
    (tests call the watcher's round themselves, on the fake clock)."""
    return 3600.0


@pytest.fixture
def field_keys(tmp_path: Path) -> Path:
    """A field-encryption key ring of the test's own."""
    return create_key_file(tmp_path / "field-keys.json")


@pytest.fixture
def min_cell() -> int:
    """The statistics' minimum cell size (the default unless a test says otherwise)."""
    return 5


@pytest.fixture
def identification_settings(
    identification_db: Path,
    token_keys: Path,
    field_keys: Path,
    watch_seconds: float,
    min_cell: int,
) -> IdentificationSettings:
    return IdentificationSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{identification_db}",
        kafka_bootstrap_servers=UNUSED_BROKER,
        jwt_jwks_file=token_keys / "dev-jwks.json",
        field_keys_file=field_keys,
        deadline_watch_seconds=watch_seconds,
        statistics_min_cell=min_cell,
    )


@pytest.fixture
def identification_app(
    identification_settings: IdentificationSettings, clock: FakeClock
) -> FastAPI:
    return create_app(identification_settings, clock=clock)


@pytest.fixture
def client(identification_app: FastAPI) -> Iterator[TestClient]:
    """The running app: the lifespan has created the schema."""
    with TestClient(identification_app) as running:
        yield running


@pytest.fixture
def auth(mint: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """``auth("moi-dahtjp", "screener")``: the headers of a caller of that organisation."""

    def _auth(organisation: str, *roles: str) -> dict[str, str]:
        return bearer(mint(organisation, *roles))

    return _auth


@pytest.fixture
def screening_form() -> Callable[..., dict[str, Any]]:
    """A valid screening; keyword arguments override the person, ``encounter=`` the encounter."""

    def _form(
        *,
        encounter: dict[str, Any] | None = None,
        indicators: dict[str, Any] | None = None,
        consents: list[dict[str, Any]] | None = None,
        **person: Any,
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if indicators is not None:
            extra["indicators"] = indicators
        if consents is not None:
            extra["consents"] = consents
        return {
            **extra,
            "person": {
                "given_name": "Sreymom",
                "family_name": "Keovathana",
                "given_name_khmer": "ស្រីមុំ",
                "family_name_khmer": "កែវវឌ្ឍនា",
                "sex": "female",
                "birth_date": "2010-05-17",
                "nationality": "KHM",
                **person,
            },
            "encounter": {
                "type": "police_operation",
                "date": "2026-03-02",
                "province_code": "02",
                **(encounter or {}),
            },
        }

    return _form


def _rows(database: Path, query: str) -> list[sqlite3.Row]:
    connection = sqlite3.connect(database)
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


@pytest.fixture
def outbox_rows(identification_db: Path) -> Callable[[], list[sqlite3.Row]]:
    """The outbox as stored, in commit order (read with a plain sqlite3 connection)."""
    return lambda: _rows(identification_db, CASE_EVENTS_IN_OUTBOX)


@pytest.fixture
def screening_rows(identification_db: Path) -> Callable[[], list[sqlite3.Row]]:
    return lambda: _rows(identification_db, "SELECT * FROM screening")


@pytest.fixture
def table_rows(identification_db: Path) -> Callable[[str], list[sqlite3.Row]]:
    """``table_rows("person_record")``: a table's rows as stored."""
    return lambda table: _rows(identification_db, f"SELECT * FROM {table}")


@pytest.fixture
def events(
    outbox_rows: Callable[[], list[sqlite3.Row]],
    parse_outbox_row: Callable[[sqlite3.Row], Envelope],
) -> Callable[[str], list[Envelope]]:
    """``events("victim.presumed")``: the envelopes in the outbox whose type names it."""

    def _events(kind: str) -> list[Envelope]:
        return [
            parse_outbox_row(row)
            for row in outbox_rows()
            if row["event_type"] == f"kh.nrm.identification.{kind}.v1"
        ]

    return _events


@pytest.fixture
def screen(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    screening_form: Callable[..., dict[str, Any]],
    clock: FakeClock,
) -> Callable[..., dict[str, Any]]:
    """``screen(org="moi-dahtjp", **form)``: record a screening, return the response body.
    Each screening is recorded a second after the previous one (they list in that order)."""

    def _screen(organisation: str = "moi-dahtjp", **form: Any) -> dict[str, Any]:
        clock.now += timedelta(seconds=1)
        response = client.post(
            "/screenings", json=screening_form(**form), headers=auth(organisation, "screener")
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return _screen


@pytest.fixture
def parse_outbox_row() -> Callable[[sqlite3.Row], Envelope]:
    """Parse an outbox row as a consumer would parse the Kafka record the relay makes of it."""

    def _parse(row: sqlite3.Row) -> Envelope:
        return Envelope.from_kafka(
            row["message_key"].encode(),
            row["message_value"],
            {"content-type": row["content_type"].encode()},
        )

    return _parse


@pytest.fixture
def run_nrm(
    identification_db: Path, field_keys: Path, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """``run_nrm("person-index", "rekey")``: the ``nrm`` command line on the test's
    database and keys; its exit status, stdout and stderr."""

    def _run(*arguments: str) -> tuple[int, str, str]:
        status = nrm(
            [
                *arguments,
                "--database-url",
                f"sqlite+aiosqlite:///{identification_db}",
                "--field-keys-file",
                str(field_keys),
            ]
        )
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return _run


@pytest.fixture
def words_follow_the_records(identification_db: Path) -> Callable[[], bool]:
    """Whether ``person_word`` holds exactly each counted digest a record of the person
    is filed under, once per person (and holds something)."""

    def _check() -> bool:
        kept = {
            tuple(row)
            for row in _rows(identification_db, "SELECT digest, person_id FROM person_word")
        }
        derived = {
            tuple(row)
            for row in _rows(
                identification_db,
                "SELECT DISTINCT k.digest, r.person_id FROM person_block_key k "
                "JOIN person_record r ON r.screening_id = k.screening_id WHERE k.counted",
            )
        }
        return bool(kept) and kept == derived

    return _check
