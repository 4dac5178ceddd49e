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
