"""The AsyncAPI document's ``receive`` operations say what each service really reads: the
event types its consumers handle, read from the services' own subscriptions, both ways.
A client that plans on the document must not miss a reader, nor believe in one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nrm_contracts.asyncapi import known_subscriptions
from nrm_deploy.catalogue import SERVICES
from nrm_deploy.kafka_access import built_runtime, throwaway_keys


@pytest.fixture(scope="module")
def keys_dir() -> Iterator[Path]:
    with throwaway_keys() as directory:
        yield directory


def handled(name: str, keys_dir: Path) -> set[str]:
    """The event types ``name``'s consumers handle."""
    runtime = built_runtime(SERVICES[name], keys_dir)
    return {
        payload.event_type
        for consumer in runtime.consumers
        for payload in consumer.subscription.handlers
    }


def documented(name: str) -> set[str]:
    return {
        event.event_type
        for subscription in known_subscriptions()
        if subscription.service == name
        for event in subscription.events
    }


@pytest.mark.parametrize("name", list(SERVICES))
def test_the_document_lists_exactly_the_events_a_service_handles(name: str, keys_dir: Path) -> None:
    assert documented(name) == handled(name, keys_dir)


def test_each_documented_subscription_reads_one_topic() -> None:
    for subscription in known_subscriptions():
        assert len({event.topic for event in subscription.events}) == 1, subscription.purpose
