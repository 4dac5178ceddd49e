"""CPU per request of the backbone's hot paths, as ratios to floors measured in the same run.

Real parts: a Kafka broker of its own, identification and referral as uvicorn processes on
SQLite (identification's person index loaded with ``--known`` synthetic records first),
and a bare FastAPI endpoint under uvicorn. Requests are sequential; a process's CPU is
read from ``/proc/<pid>/stat`` (user + system) before and after each phase, less what the
process spends idle (its relay, consumers and sequencer polling) over the same time.

Measured:
  - floors: a bare FastAPI endpoint (CPU ms per request), a bare one-row insert and
    commit through SQLAlchemy's async engine on SQLite (CPU ms, in this process);
  - identification: per screening (a synthetic person each), per decision, per audited
    read (``GET /screenings/{id}``);
  - referral: per referral case opened (from the decision's event, consumed);
  - the audit log, in this process: an audited append (one entry, its own transaction)
    and the sequencer's integration, per entry.

    .venv/bin/python bench/request_cost.py --known 20000 --requests 200

Writes ``<report>.json`` and ``<report>.md`` (default ``var/bench/request-cost``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from backbone_latency import GUARDIAN_CONSENT, INDICATORS, wait_until_quiet

from nrm_deploy.catalogue import SERVICES
from nrm_deploy.kafka_cluster import KafkaCluster, free_port
from nrm_deploy.testing import ServiceProcess, bearer
from nrm_runtime.devtokens import ensure_dev_keys, mint_token
from nrm_runtime.field_crypto import create_key_file

TICKS = os.sysconf("SC_CLK_TCK")
IDLE_SECONDS = 3.0
SEED = 20261207


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Meter:
    """A process's CPU over a phase, less its idle rate over the same wall time."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.idle_rate = 0.0

    def calibrate(self, seconds: float = IDLE_SECONDS) -> None:
        before, started = cpu_seconds(self.pid), time.monotonic()
        time.sleep(seconds)
        self.idle_rate = (cpu_seconds(self.pid) - before) / (time.monotonic() - started)

    def measure(self, phase: Callable[[], Any]) -> tuple[float, Any]:
        """CPU seconds ``phase`` cost the process (idle removed), and what it returned."""
        before, started = cpu_seconds(self.pid), time.monotonic()
        result = phase()
        spent = cpu_seconds(self.pid) - before
        return max(0.0, spent - self.idle_rate * (time.monotonic() - started)), result


def synthetic_screenings(known: int, count: int) -> list[dict[str, Any]]:
    """Screenings of ``count`` synthetic persons, drawn after the ``known`` ones (so that
    some are namesakes or the same persons met again), as children with a guardian's
    consent so that each decision opens a referral case."""
    from identification.person_index.synthetic import generate

    records = generate(known + count, seed=SEED)[known:]
    return [
        {
            "person": {
                "given_name": record.given_name or None,
                "family_name": record.family_name or None,
                "given_name_khmer": record.given_name_khmer or None,
                "family_name_khmer": record.family_name_khmer or None,
                "sex": record.sex,
                "estimated_age": 16,
                "nationality": record.nationality or None,
            },
            "encounter": {
                "type": "police_operation",
                "date": "2026-11-20",
                "province_code": record.province_code or "12",
            },
            "indicators": INDICATORS,
            "consents": GUARDIAN_CONSENT,
        }
        for record in records
    ]


def load_known_records(database: Path, field_keys: Path, known: int) -> None:
    """Identification's database with ``known`` synthetic records in its person index."""
    from identification.legacy_import.importing import import_export
    from identification.legacy_import.mapping import Source, load_mapping
    from identification.legacy_import.reading import read_export
    from identification.legacy_import.samples import write_export
    from identification.person_index.synthetic import generate
    from identification.store import tables
    from nrm_runtime.database import Database
    from nrm_runtime.field_crypto import KeyRing
    from nrm_runtime.schema import history_of, runtime_history

    async def load() -> None:
        mapping = load_mapping(Source.POLICE_CASE)
        export_file = write_export(generate(known, seed=SEED), mapping, database.parent / "k.csv")
        db = Database(
            f"sqlite+aiosqlite:///{database}",
            service_metadata=tables,
            event_source="/nrm/identification",
        )
        try:
            await db.migrate([runtime_history(), history_of("identification")])
            await import_export(
                db,
                KeyRing.load(field_keys),
                mapping,
                read_export(export_file, mapping),
                operator="bench",
            )
        finally:
            await db.dispose()

    database.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(load())


def start_bare_endpoint(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--app-dir",
            str(Path(__file__).parent),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=(workdir / "bare.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("the bare endpoint did not start")


def per_request_ms(meter: Meter, count: int, send: Callable[[int], object]) -> float:
    def phase() -> None:
        for index in range(count):
            send(index)

    spent, _ = meter.measure(phase)
    return round(1000 * spent / count, 3)


# --- in this process: the database floor and the audit log --------------------------------


async def database_costs(directory: Path, count: int) -> dict[str, float]:
    """CPU ms of a bare insert, of an audited append, and of sequencing one entry."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert

    from nrm_runtime.audit import AuditAction, record_access
    from nrm_runtime.audit_heads import HeadSigner
    from nrm_runtime.audit_sequencer import AuditSequencer
    from nrm_runtime.auth import OrganisationType, Principal, Role
    from nrm_runtime.database import Database

    metadata = MetaData()
    rows = Table("row", metadata, Column("id", Integer, primary_key=True), Column("v", String(40)))
    database = Database(
        f"sqlite+aiosqlite:///{directory / 'floor.db'}",
        service_metadata=metadata,
        event_source="/nrm/bench",
    )
    officer = Principal(
        subject="officer@mosvy",
        organisation="mosvy",
        organisation_type=OrganisationType.MINISTRY,
        roles=frozenset({Role.CASE_MANAGER}),
    )
    try:
        await database.create_schema()

        async def bare(index: int) -> None:
            async with database.unit_of_work() as uow:
                await (await uow.session.connection()).execute(insert(rows).values(v=str(index)))
                await uow.commit()

        async def audited(index: int) -> None:
            async with database.unit_of_work() as uow:
                await record_access(
                    uow.session,
                    officer,
                    action=AuditAction.READ,
                    resource_type="person",
                    resource_ids=f"c-{index}",
                    purpose="case_review",
                )
                await uow.commit()

        results = {}
        for name, step in (("bare_insert", bare), ("audited_append", audited)):
            await step(-1)  # warm
            started = time.process_time()
            for index in range(count):
                await step(index)
            results[f"{name}_cpu_ms"] = round(1000 * (time.process_time() - started) / count, 3)
        sequencer = AuditSequencer(
            database, HeadSigner.ephemeral(), log_id="bench", head_event=None, batch_size=1000
        )
        started = time.process_time()
        await sequencer.integrate_all()
        results["sequencing_per_entry_cpu_ms"] = round(
            1000 * (time.process_time() - started) / (count + 1), 4
        )
        return results
    finally:
        await database.dispose()


# --- the run -------------------------------------------------------------------------------


def run(known: int, count: int, work: Path) -> dict[str, Any]:
    keys = work / "keys"
    ensure_dev_keys(keys)
    create_key_file(keys / "field-keys.json")
    if known:
        load_known_records(
            work / "identification" / "identification.db", keys / "field-keys.json", known
        )
    cluster = KafkaCluster(work / "kafka", nodes=1)
    cluster.start()
    processes: list[ServiceProcess] = []
    bare = None
    try:
        settings = {
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
            "KAFKA_TOPIC_PREFIX": f"bench{uuid.uuid4().hex[:6]}.",
            "JWT_JWKS_FILE": str(keys / "dev-jwks.json"),
            "FIELD_KEYS_FILE": str(keys / "field-keys.json"),
            "LOG_LEVEL": "WARNING",
        }
        identification, referral = (
            ServiceProcess(SERVICES[name], work / name, dict(settings)).start(wait_for="/readyz")
            for name in ("identification", "referral")
        )
        processes += [identification, referral]
        bare, bare_url = start_bare_endpoint(work)
        assert identification.process and referral.process
        meters = {
            "bare": Meter(bare.pid),
            "identification": Meter(identification.process.pid),
            "referral": Meter(referral.process.pid),
        }
        screener = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=keys)
        authority = mint_token(organisation="mosvy", roles=["competent_authority"], directory=keys)
        forms = synthetic_screenings(known, count + 5)
        with httpx.Client(timeout=60) as client:
            for _ in range(50):  # warm every path once
                client.get(f"{bare_url}/ping")
            for meter in meters.values():
                meter.calibrate()
            floor = per_request_ms(meters["bare"], count, lambda i: client.get(f"{bare_url}/ping"))

            screenings: list[dict[str, Any]] = []

            def screen(index: int) -> None:
                response = client.post(
                    f"{identification.url}/screenings", json=forms[index], headers=bearer(screener)
                )
                response.raise_for_status()
                screenings.append(response.json())

            screening_ms = per_request_ms(meters["identification"], count, screen)
            asyncio.run(_quiet(referral.url))

            def decide(index: int) -> None:
                client.post(
                    f"{identification.url}/cases/{screenings[index]['case_id']}/decisions",
                    json={"stage": "preliminary", "outcome": "identified", "rationale": "bench"},
                    headers=bearer(authority),
                ).raise_for_status()

            def decide_all_and_drain() -> float:
                decided = per_request_ms(meters["identification"], count, decide) * count / 1000
                asyncio.run(_quiet(referral.url))
                return decided

            referral_spent, decided = meters["referral"].measure(decide_all_and_drain)
            decision_ms = round(1000 * decided / count, 3)
            case_opened_ms = round(1000 * referral_spent / count, 3)

            def read(index: int) -> None:
                client.get(
                    f"{identification.url}/screenings/{screenings[index]['id']}",
                    headers=bearer(screener),
                ).raise_for_status()

            read_ms = per_request_ms(meters["identification"], count, read)
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait(timeout=10)
        for process in processes:
            process.stop()
        cluster.stop()
    database = asyncio.run(database_costs(work, count * 5))
    http = {
        "screening": screening_ms,
        "decision": decision_ms,
        "audited_read": read_ms,
        "referral_case_opened": case_opened_ms,
    }
    return {
        "measured_at": datetime.now().astimezone().isoformat(),
        "known_records": known,
        "requests_per_phase": count,
        "floor_bare_endpoint_cpu_ms": floor,
        "floor_bare_insert_cpu_ms": database["bare_insert_cpu_ms"],
        "cpu_ms": http,
        "cpu_ratio_to_bare_endpoint": {k: round(v / floor, 1) for k, v in http.items()},
        "audit": {
            "audited_append_cpu_ms": database["audited_append_cpu_ms"],
            "audited_append_over_bare_insert": round(
                database["audited_append_cpu_ms"] / database["bare_insert_cpu_ms"], 2
            ),
            "sequencing_per_entry_cpu_ms": database["sequencing_per_entry_cpu_ms"],
        },
    }


async def _quiet(url: str) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        await wait_until_quiet(client, url)


def markdown(report: dict[str, Any]) -> str:
    floor, insert = report["floor_bare_endpoint_cpu_ms"], report["floor_bare_insert_cpu_ms"]
    lines = [
        f"Request cost, {report['measured_at']}: {report['known_records']} known records, "
        f"{report['requests_per_phase']} sequential requests per phase.",
        "",
        "| measure | CPU ms | ratio to its floor |",
        "| --- | ---: | ---: |",
        f"| floor: bare FastAPI endpoint | {floor} | 1 |",
        f"| floor: bare insert + commit (SQLite) | {insert} | 1 |",
    ]
    for name, value in report["cpu_ms"].items():
        lines.append(
            f"| {name.replace('_', ' ')} | {value} | {round(value / floor, 1)} x endpoint |"
        )
    audit = report["audit"]
    lines.append(
        f"| audited append (own transaction) | {audit['audited_append_cpu_ms']} | "
        f"{audit['audited_append_over_bare_insert']} x insert |"
    )
    lines.append(
        f"| audit sequencing, per entry | {audit['sequencing_per_entry_cpu_ms']} | "
        f"{round(audit['sequencing_per_entry_cpu_ms'] / insert, 3)} x insert |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--known", type=int, default=2000, help="records in the person index")
    parser.add_argument("--requests", type=int, default=100, help="sequential requests a phase")
    parser.add_argument("--report", type=Path, default=Path("var/bench/request-cost"))
    args = parser.parse_args(argv)
    # Kept when the run fails: the services' logs are in it.
    directory = Path(tempfile.mkdtemp(prefix="nrm-cost-"))
    report = run(args.known, args.requests, directory)
    shutil.rmtree(directory, ignore_errors=True)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    args.report.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
