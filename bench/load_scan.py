"""The backbone under a surge, and the broker's floors, in one run.

Two measurements, each against a floor taken in the same run on the same machine:

1. **Latency against offered rate.** For each rate in ``--rates``, decisions are sent on
   schedule (open loop) to identification for presumed victims screened beforehand
   (synthetic persons, never one repeated person); every answer is counted by kind
   (201, 503 with ``Retry-After``, another status, a connection error or a client
   timeout), and for each accepted decision the time until referral has opened the
   case (read from referral's own topic). Floor: the same rate of bare Kafka round trips
   (``backbone_latency.kafka_round_trips``).
2. **Consume → effect → produce against the broker's passthrough.** The identification
   events of step 1, copied to a fresh set of topics, are read by a fresh referral
   process (its database empty): cases opened per second, from its first read to its
   last case opened on its topic, against a bare aiokafka consumer that reads the same
   records and produces each to another topic (nothing between: the broker's floor for
   a consume-produce service). The issue's goal is a ratio of at least 0.5.

Writes ``<report>.json``, ``<report>.md`` (the table) and ``<report>.png`` (the plot).

    .venv/bin/python bench/load_scan.py --rates 10 25 50 100 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from backbone_latency import kafka_round_trips, open_loop, summary, wait_until_quiet
from request_cost import synthetic_screenings

from nrm_contracts import Envelope, Topic
from nrm_deploy.catalogue import SERVICES
from nrm_deploy.kafka_cluster import KafkaCluster
from nrm_deploy.testing import ServiceProcess, bearer
from nrm_runtime.devtokens import ensure_dev_keys, mint_token
from nrm_runtime.field_crypto import create_key_file

CASE_OPENED = "kh.nrm.referral.case.opened"
# The client waits longer than any answer the service should give: a timeout is a
# failure of the service to answer (shed or serve), never the client's impatience.
CLIENT_TIMEOUT_SECONDS = 30.0


async def screen_all(
    client: httpx.AsyncClient, url: str, token: str, screened: int, count: int
) -> list[str]:
    """``count`` synthetic presumed child victims with a guardian's consent, drawn after
    the ``screened`` ones of earlier rates: their cases."""
    forms = synthetic_screenings(screened, count)
    gate = asyncio.Semaphore(8)

    async def one(body: dict[str, Any]) -> str:
        async with gate:
            for _attempt in range(20):
                response = await client.post(f"{url}/screenings", json=body, headers=bearer(token))
                if response.status_code != 503:
                    break
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            response.raise_for_status()
            case_id: str = response.json()["case_id"]
            return case_id

    return list(await asyncio.gather(*(one(form) for form in forms)))


async def one_rate(
    identification: ServiceProcess,
    referral: ServiceProcess,
    bootstrap: str,
    prefix: str,
    keys: Path,
    rate: float,
    seconds: float,
    screened: int,
) -> dict[str, Any]:
    screener = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=keys)
    authority = mint_token(organisation="mosvy", roles=["competent_authority"], directory=keys)
    total = int(rate * seconds)
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT_SECONDS, limits=limits) as client:
        cases = await screen_all(client, identification.url, screener, screened, total)
        await wait_until_quiet(client, referral.url)
        observer = AIOKafkaConsumer(
            f"{prefix}{Topic.REFERRAL}", bootstrap_servers=bootstrap, auto_offset_reset="latest"
        )
        await observer.start()
        await observer.getmany(timeout_ms=500)  # joins at the end of the topic
        decided_at: dict[str, float] = {}
        accepted: set[str] = set()
        opened: dict[str, float] = {}
        answers: Counter[str] = Counter()
        responses: list[float] = []
        sent_all = asyncio.Event()

        async def observe() -> None:
            while not (sent_all.is_set() and accepted <= opened.keys()):
                for records in (await observer.getmany(timeout_ms=200)).values():
                    for record in records:
                        event = Envelope.from_kafka(record.key, record.value, dict(record.headers))
                        if event.type.startswith(CASE_OPENED):
                            data: Any = event.data
                            opened[str(data.identification_case_id)] = data.opened_at.timestamp()

        async def decide(index: int) -> None:
            case_id = cases[index]
            decided_at[case_id] = time.time()
            started = time.perf_counter()
            try:
                response = await client.post(
                    f"{identification.url}/cases/{case_id}/decisions",
                    json={"stage": "preliminary", "outcome": "identified", "rationale": "bench"},
                    headers=bearer(authority),
                )
            except httpx.TimeoutException:
                answers["client timeout"] += 1
                return
            except httpx.TransportError:
                answers["connection error"] += 1
                return
            responses.append(time.perf_counter() - started)
            if response.status_code == 201:
                answers["201"] += 1
                accepted.add(case_id)
            elif response.status_code == 503 and "Retry-After" in response.headers:
                answers["503 + Retry-After"] += 1
            else:
                answers[str(response.status_code)] += 1

        observing = asyncio.create_task(observe())
        achieved = await open_loop(rate, seconds, decide)
        sent_all.set()
        await asyncio.wait_for(observing, timeout=300)
        await observer.stop()
    end_to_end = [opened[case_id] - decided_at[case_id] for case_id in accepted]
    kafka = await kafka_round_trips(bootstrap, rate, seconds)
    return {
        "rate_offered_per_s": rate,
        "rate_sent_per_s": round(achieved, 1),
        "answers": dict(answers),
        "decision_to_referral_case_open": summary(end_to_end) if end_to_end else None,
        "decision_response": summary(responses) if responses else None,
        "floor_kafka_round_trip": summary(kafka),
    }


async def create_topic(bootstrap: str, topic: str) -> None:
    """The broker creates no topic on first use (as in production): the bench does."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()


async def copy_topic(bootstrap: str, source: str, target: str) -> int:
    """Every record of ``source`` produced again to ``target`` (same key, value, headers)."""
    await create_topic(bootstrap, target)
    consumer = AIOKafkaConsumer(
        source, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await consumer.start()
    await producer.start()
    copied = 0
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=2000, max_records=1000)
            if not batch:
                break
            for records in batch.values():
                for record in records:
                    await producer.send(
                        target, record.value, key=record.key, headers=list(record.headers)
                    )
                    copied += 1
        await producer.flush()
    finally:
        await consumer.stop()
        await producer.stop()
    return copied


async def raw_passthrough(bootstrap: str, source: str, count: int) -> float:
    """Records per second a bare consumer group reads from ``source`` and produces each to
    another topic (idempotent producer, offsets committed after each batch)."""
    target = f"{source}.floor.{uuid.uuid4().hex[:6]}"
    await create_topic(bootstrap, target)
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"floor-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await consumer.start()
    await producer.start()
    moved = 0
    started = time.perf_counter()
    try:
        while moved < count:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    await producer.send(target, record.value, key=record.key)
                    moved += 1
            await producer.flush()
            await consumer.commit()
        return moved / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def service_passthrough(bootstrap: str, prefix: str, expected: int, ready_at: float) -> float:
    """Seconds a referral process, ready at ``ready_at`` on a copied topic, takes until
    it has opened the ``expected``-th case (the decisions are the topic's last events)."""
    observer = AIOKafkaConsumer(
        f"{prefix}{Topic.REFERRAL}", bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await observer.start()
    opened = 0
    last = 0.0
    deadline = time.monotonic() + 600
    try:
        while opened < expected and time.monotonic() < deadline:
            for records in (await observer.getmany(timeout_ms=500)).values():
                for record in records:
                    event = Envelope.from_kafka(record.key, record.value, dict(record.headers))
                    if event.type.startswith(CASE_OPENED):
                        moment = event.data.opened_at.timestamp()  # type: ignore[attr-defined]
                        last = max(last, moment)
                        opened += 1
    finally:
        await observer.stop()
    if opened < expected:
        raise RuntimeError(f"referral opened {opened} of {expected} cases in 10 minutes")
    return max(last - ready_at, 1e-3)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Measured {report['measured_at']} on this machine; identification and referral "
        "on SQLite, one process each, one Kafka broker.",
        "",
        "| offered /s | sent /s | 201 | 503 + Retry-After | other | conn. errors + timeouts "
        "| decision p50 ms | decision p99 ms | decision → case open p50 ms | p99 ms "
        "| Kafka round trip p99 ms (floor) | p99 ÷ floor |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["rates"]:
        answers = row["answers"]
        other = sum(
            n
            for kind, n in answers.items()
            if kind not in ("201", "503 + Retry-After", "connection error", "client timeout")
        )
        failed = answers.get("connection error", 0) + answers.get("client timeout", 0)
        opened = row["decision_to_referral_case_open"] or {}
        response = row["decision_response"] or {}
        floor = row["floor_kafka_round_trip"]["p99_ms"]
        ratio = f"{opened['p99_ms'] / floor:.0f}" if opened else "-"
        lines.append(
            f"| {row['rate_offered_per_s']:g} | {row['rate_sent_per_s']:g} "
            f"| {answers.get('201', 0)} | {answers.get('503 + Retry-After', 0)} | {other} "
            f"| {failed} | {response.get('p50_ms', 0):.0f} | {response.get('p99_ms', 0):.0f} "
            f"| {opened.get('p50_ms', 0):.0f} | {opened.get('p99_ms', 0):.0f} "
            f"| {floor:.0f} | {ratio} |"
        )
    through = report["passthrough"]
    lines += [
        "",
        "| consume → effect → produce | records /s | ratio to the floor |",
        "| --- | --- | --- |",
        f"| bare aiokafka consumer → producer (floor) | {through['raw_per_s']:.0f} | 1.00 |",
        f"| referral: identification's events read, cases opened (database, outbox, relay) "
        f"| {through['referral_per_s']:.0f} | {through['ratio']:.3f} |",
    ]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    rows = [row for row in report["rates"] if row["decision_to_referral_case_open"]]
    rates = [row["rate_offered_per_s"] for row in rows]
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for key, label, field in (
        ("decision_to_referral_case_open", "decision → case open, p99", "p99_ms"),
        ("decision_to_referral_case_open", "decision → case open, p50", "p50_ms"),
        ("decision_response", "decision response, p99", "p99_ms"),
        ("floor_kafka_round_trip", "Kafka round trip p99 (floor)", "p99_ms"),
    ):
        axis.plot(rates, [row[key][field] for row in rows], marker="o", label=label)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("decisions offered per second")
    axis.set_ylabel("milliseconds")
    axis.set_title("Latency against offered rate (identification → referral, SQLite)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 25, 50, 100, 200])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each rate's phase")
    parser.add_argument("--report", type=Path, default=Path("var/bench/load-scan"))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="nrm-bench-"))
    keys = work / "keys"
    ensure_dev_keys(keys)
    create_key_file(keys / "field-keys.json")
    cluster = KafkaCluster(work / "kafka", nodes=1)
    cluster.start()
    bootstrap = cluster.bootstrap_servers
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    settings = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "JWT_JWKS_FILE": str(keys / "dev-jwks.json"),
        "FIELD_KEYS_FILE": str(keys / "field-keys.json"),
        "LOG_LEVEL": "WARNING",
    }
    services: list[ServiceProcess] = []
    try:
        identification, referral = (
            ServiceProcess(SERVICES[name], work / name, dict(settings)).start(wait_for="/readyz")
            for name in ("identification", "referral")
        )
        services += [identification, referral]
        rows = []
        screened = 0
        for rate in args.rates:
            row = asyncio.run(
                one_rate(
                    identification, referral, bootstrap, prefix, keys, rate, args.seconds, screened
                )
            )
            screened += int(rate * args.seconds)
            print(json.dumps(row), flush=True)
            rows.append(row)
        for service in services:
            service.stop()
        services.clear()

        copy_prefix = f"copy{uuid.uuid4().hex[:6]}."
        source = f"{prefix}{Topic.IDENTIFICATION}"
        copied = asyncio.run(copy_topic(bootstrap, source, f"{copy_prefix}{Topic.IDENTIFICATION}"))
        raw = asyncio.run(raw_passthrough(bootstrap, source, copied))
        expected = sum(row["answers"].get("201", 0) for row in rows)
        fresh = ServiceProcess(
            SERVICES["referral"],
            work / "referral-copy",
            {**settings, "KAFKA_TOPIC_PREFIX": copy_prefix},
        ).start(wait_for="/readyz")
        ready_at = time.time()
        services.append(fresh)
        took = asyncio.run(service_passthrough(bootstrap, copy_prefix, expected, ready_at))
        through = copied / took
    finally:
        for service in services:
            service.stop()
        cluster.stop()
    report = {
        "measured_at": datetime.now().astimezone().isoformat(),
        "seconds_per_rate": args.seconds,
        "rates": rows,
        "passthrough": {
            "records": copied,
            "cases_opened": expected,
            "referral_seconds": took,
            "raw_per_s": raw,
            "referral_per_s": through,
            "ratio": through / raw,
        },
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    args.report.with_suffix(".md").write_text(table)
    plot(report, args.report.with_suffix(".png"))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
