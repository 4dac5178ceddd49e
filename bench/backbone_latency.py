"""Latency of the backbone under load: from a Competent Authority's decision (an HTTP
POST to identification) to the referral case being open in the referral service, at a
fixed arrival rate (open loop: requests are sent on schedule, not when the previous one
returns, so a slow system is not hidden by a slow client).

Real parts: a Kafka broker of its own, the two services as uvicorn processes on SQLite.
Figures are reported with two baselines measured in the same run, on the same machine:
  - the decision POST's own response time (what a client waits for), and
  - a bare Kafka round trip (produce with acks=all, consumed by another client),
so the report reads "end to end = N x HTTP, M x Kafka" on whatever machine runs it.

    .venv/bin/python bench/backbone_latency.py --rate 200 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from nrm_contracts import Envelope, Topic
from nrm_deploy.catalogue import SERVICES
from nrm_deploy.kafka_cluster import KafkaCluster
from nrm_deploy.testing import ServiceProcess, bearer, screening_form
from nrm_runtime.devtokens import ensure_dev_keys, mint_token
from nrm_runtime.field_crypto import create_key_file


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": 1000 * percentile(values, 0.50),
        "p95_ms": 1000 * percentile(values, 0.95),
        "p99_ms": 1000 * percentile(values, 0.99),
        "max_ms": 1000 * max(values),
        "mean_ms": 1000 * statistics.fmean(values),
    }


async def open_loop(rate: float, seconds: float, send: Callable[[int], Awaitable[None]]) -> float:
    """Start ``send(i)`` at ``rate`` per second for ``seconds``; return the achieved rate."""
    total = int(rate * seconds)
    started = time.perf_counter()
    tasks = []
    for index in range(total):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(index)))
    await asyncio.gather(*tasks)
    return total / (time.perf_counter() - started)


async def kafka_round_trips(bootstrap: str, rate: float, seconds: float) -> list[float]:
    """Baseline: produce (idempotent, acks=all) → consumed by another client, same rate."""
    topic = f"bench.baseline.{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    await admin.close()
    await producer.start()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    sent_at: dict[bytes, float] = {}
    latencies: list[float] = []
    total = int(rate * seconds)

    async def receive() -> None:
        while len(latencies) < total:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    latencies.append(time.perf_counter() - sent_at[record.value])

    async def send(index: int) -> None:
        value = str(index).encode()
        sent_at[value] = time.perf_counter()
        await producer.send_and_wait(topic, value, key=value)

    receiving = asyncio.create_task(receive())
    await open_loop(rate, seconds, send)
    await asyncio.wait_for(receiving, timeout=60)
    await producer.stop()
    await consumer.stop()
    return latencies


GUARDIAN_CONSENT = [{"purpose": "referral", "given": True, "basis": "guardian"}]
INDICATORS = {"acts": ["harbouring", "receipt"], "purposes": ["sexual_exploitation"]}


def consumed_total(metrics_text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics_text.splitlines()
        if line.startswith("nrm_consumer_events_total{")
    )


async def wait_until_quiet(client: httpx.AsyncClient, url: str, quiet_seconds: float = 2.0) -> None:
    """Until the service's consumer has processed nothing new for ``quiet_seconds``."""
    last, still_since = -1.0, time.monotonic()
    while time.monotonic() - still_since < quiet_seconds:
        total = consumed_total((await client.get(f"{url}/metrics")).text)
        if total != last:
            last, still_since = total, time.monotonic()
        await asyncio.sleep(0.2)


async def screened_cases(client: httpx.AsyncClient, url: str, token: str, count: int) -> list[str]:
    """``count`` presumed child victims with a guardian's consent, 16 requests at a time."""
    gate = asyncio.Semaphore(16)
    form = {
        **screening_form(),
        "encounter": {"type": "police_operation", "date": "2026-11-20", "province_code": "12"},
        "indicators": INDICATORS,
        "consents": GUARDIAN_CONSENT,
    }

    async def one(_index: int) -> str:
        async with gate:
            response = await client.post(f"{url}/screenings", json=form, headers=bearer(token))
            response.raise_for_status()
            case_id: str = response.json()["case_id"]
            return case_id

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def backbone_latencies(
    identification: ServiceProcess,
    bootstrap: str,
    prefix: str,
    keys: Path,
    rate: float,
    seconds: float,
    referral: ServiceProcess,
) -> tuple[list[float], list[float], float]:
    screener = mint_token(organisation="moi-dahtjp", roles=["screener"], directory=keys)
    authority = mint_token(organisation="mosvy", roles=["competent_authority"], directory=keys)
    total = int(rate * seconds)
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        cases = await screened_cases(client, identification.url, screener, total)
        await wait_until_quiet(client, referral.url)

        observer = AIOKafkaConsumer(
            f"{prefix}{Topic.REFERRAL}", bootstrap_servers=bootstrap, auto_offset_reset="latest"
        )
        await observer.start()
        await observer.getmany(timeout_ms=500)  # joins at the end of the topic
        decided_at: dict[str, float] = {}
        responses: list[float] = []
        opened: dict[str, float] = {}

        async def observe() -> None:
            while len(opened) < total:
                for records in (await observer.getmany(timeout_ms=200)).values():
                    for record in records:
                        event = Envelope.from_kafka(record.key, record.value, dict(record.headers))
                        data: Any = event.data
                        if event.type.startswith("kh.nrm.referral.case.opened"):
                            opened[str(data.identification_case_id)] = data.opened_at.timestamp()

        async def decide(index: int) -> None:
            case_id = cases[index]
            decided_at[case_id] = time.time()
            started = time.perf_counter()
            response = await client.post(
                f"{identification.url}/cases/{case_id}/decisions",
                json={"stage": "preliminary", "outcome": "identified", "rationale": "bench"},
                headers=bearer(authority),
            )
            responses.append(time.perf_counter() - started)
            response.raise_for_status()

        observing = asyncio.create_task(observe())
        achieved = await open_loop(rate, seconds, decide)
        await asyncio.wait_for(observing, timeout=120)
        await observer.stop()
    end_to_end = [opened[case_id] - decided_at[case_id] for case_id in cases]
    return end_to_end, responses, achieved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="decisions per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the timed phase")
    parser.add_argument("--report", type=Path, default=Path("var/bench/backbone-latency.json"))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="nrm-bench-"))
    keys = work / "keys"
    ensure_dev_keys(keys)
    create_key_file(keys / "field-keys.json")
    cluster = KafkaCluster(work / "kafka", nodes=1)
    cluster.start()
    services: list[ServiceProcess] = []
    try:
        prefix = f"bench{uuid.uuid4().hex[:6]}."
        settings = {
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
            "KAFKA_TOPIC_PREFIX": prefix,
            "JWT_JWKS_FILE": str(keys / "dev-jwks.json"),
            "FIELD_KEYS_FILE": str(keys / "field-keys.json"),
            "LOG_LEVEL": "WARNING",
        }
        identification, referral = (
            ServiceProcess(SERVICES[name], work / name, dict(settings)).start(wait_for="/readyz")
            for name in ("identification", "referral")
        )
        services += [identification, referral]
        kafka = asyncio.run(kafka_round_trips(cluster.bootstrap_servers, args.rate, args.seconds))
        end_to_end, responses, achieved = asyncio.run(
            backbone_latencies(
                identification,
                cluster.bootstrap_servers,
                prefix,
                keys,
                args.rate,
                args.seconds,
                referral,
            )
        )
    finally:
        for service in services:
            service.stop()
        cluster.stop()
    report = {
        "measured_at": datetime.now().astimezone().isoformat(),
        "rate_requested_per_s": args.rate,
        "rate_achieved_per_s": round(achieved, 1),
        "decision_to_referral_case_open": summary(end_to_end),
        "baseline_http_decision_response": summary(responses),
        "baseline_kafka_round_trip": summary(kafka),
    }
    report["ratio_p99_end_to_end_over_http"] = round(
        report["decision_to_referral_case_open"]["p99_ms"]
        / report["baseline_http_decision_response"]["p99_ms"],
        2,
    )
    report["ratio_p99_end_to_end_over_kafka"] = round(
        report["decision_to_referral_case_open"]["p99_ms"]
        / report["baseline_kafka_round_trip"]["p99_ms"],
        2,
    )
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
