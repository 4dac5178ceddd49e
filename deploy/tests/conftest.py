"""Shared fixtures of the deploy tests: the broker jars, fetched once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from nrm_deploy.kafka_jars import ensure_kafka_jars


@pytest.fixture(scope="session")
def kafka_libs() -> Path:
    """The Kafka jar cache, fetched with Maven on first use (a no-op when current)."""
    return ensure_kafka_jars()
