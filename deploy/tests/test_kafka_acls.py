"""The ACLs are what the services use, no less and no more.

What each service uses is read here from its parts, independently of how the ACLs are
generated: the event types its handlers take (their topics must be read), the event
types its contract module publishes (their topics written), a dead-letter topic per
subscribed topic and group, and the per-provider topic its delivery worker writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nrm_contracts.topics import dead_letter_topic
from nrm_deploy.catalogue import SERVICES, ServiceKind
from nrm_deploy.kafka_access import (
    ServiceAccess,
    built_runtime,
    throwaway_keys,
    topic_families,
)
from nrm_deploy.kafka_acls import (
    AclBinding,
    Operation,
    PatternType,
    ResourceType,
    acl_bindings,
    backbone_access,
)
from nrm_runtime.service import ServiceRuntime

Grant = tuple[Operation, ResourceType, str]


@dataclass
class Usage:
    """What one service does on Kafka: (operation, resource type, name) it needs."""

    literal: set[Grant] = field(default_factory=set)
    provider_topic: str | None = None


@pytest.fixture(scope="module")
def keys_dir() -> Iterator[Path]:
    with throwaway_keys() as directory:
        yield directory


def usage_of(kind: ServiceKind, runtime: ServiceRuntime) -> Usage:
    """What ``kind`` uses, from its handlers, its contracts, its DLQs, its audit log's
    heads and its delivery."""
    import importlib

    usage = Usage()
    events = importlib.import_module(f"nrm_contracts.events.{kind.module}").EVENTS
    for event in events:
        usage.literal |= {(Operation.WRITE, ResourceType.TOPIC, str(event.topic))}
    for consumer in runtime.consumers:
        subscription = consumer.subscription
        usage.literal.add((Operation.READ, ResourceType.GROUP, subscription.consumer_group))
        for handled in subscription.handlers:
            usage.literal.add((Operation.READ, ResourceType.TOPIC, str(handled.topic)))
        for topic in subscription.topics:
            parked = dead_letter_topic(str(topic), subscription.consumer_group)
            usage.literal.add((Operation.WRITE, ResourceType.TOPIC, parked))
    for topic in runtime.broker.topics:
        usage.literal.add((Operation.CREATE, ResourceType.TOPIC, topic))
    heads = runtime.audit_sequencer.head_event  # its audit log's signed heads
    if heads is not None:
        from nrm_contracts.events.audit import audit_topic

        usage.literal.add((Operation.WRITE, ResourceType.TOPIC, audit_topic(heads.topic)))
    if kind.name == "referral":
        from referral.context import ReferralContext
        from referral.usecases.delivery import provider_topic

        context = ReferralContext.load(runtime.settings)  # type: ignore[arg-type]
        usage.provider_topic = provider_topic(context, "ngo-shelter-a")
    return usage


def problems(access: ServiceAccess, usage: Usage) -> list[str]:
    """Each use no ACL allows, and each grant no use needs (DESCRIBE goes with any use)."""
    bindings = acl_bindings(access)
    literal = {
        (b.operation, b.resource_type, b.resource_name)
        for b in bindings
        if b.pattern is PatternType.LITERAL and b.operation is not Operation.DESCRIBE
    }
    prefixed = [b for b in bindings if b.pattern is PatternType.PREFIXED]
    found = [f"not allowed: {_said(use)}" for use in sorted(usage.literal - literal)]
    found += [f"granted, never used: {_said(grant)}" for grant in sorted(literal - usage.literal)]
    if usage.provider_topic is not None:
        for operation in (Operation.WRITE, Operation.CREATE):
            if not any(
                b.operation is operation and usage.provider_topic.startswith(b.resource_name)
                for b in prefixed
            ):
                found.append(f"not allowed: {operation.name} {usage.provider_topic}")
    elif prefixed:
        found += [f"granted, never used: {b.operation.name} {b.resource_name}*" for b in prefixed]
    found += [
        f"described, never used: {b.resource_name}"
        for b in bindings
        if b.operation is Operation.DESCRIBE and not _used(b, bindings)
    ]
    return found


def _said(grant: Grant) -> str:
    operation, resource_type, name = grant
    return f"{operation.name} {resource_type.name.lower()} {name}"


def _used(describe: AclBinding, bindings: list[AclBinding]) -> bool:
    return any(
        b.resource_name == describe.resource_name and b.operation is not Operation.DESCRIBE
        for b in bindings
    )


@pytest.mark.parametrize("name", list(SERVICES))
def test_a_services_acls_allow_exactly_what_it_uses(name: str, keys_dir: Path) -> None:
    kind = SERVICES[name]
    access = next(access for access in backbone_access() if access.principal == name)

    assert problems(access, usage_of(kind, built_runtime(kind, keys_dir))) == []


def test_acls_made_by_hand_before_referral_read_repatriation_are_found_short(
    keys_dir: Path,
) -> None:
    kind = SERVICES["referral"]
    by_hand = ServiceAccess(
        "referral",
        writes=("nrm.referral", "nrm.identification.dlq.referral"),
        reads=("nrm.identification",),
        consumer_groups=("referral",),
        provisions=("nrm.referral", "nrm.identification", "nrm.identification.dlq.referral"),
    )

    found = problems(by_hand, usage_of(kind, built_runtime(kind, keys_dir)))

    assert "not allowed: READ topic nrm.repatriation" in found
    assert "not allowed: READ topic nrm.shelter-registry" in found
    assert "not allowed: WRITE nrm.referral.provider.ngo-shelter-a" in found


def test_a_grant_beyond_use_is_found(keys_dir: Path) -> None:
    # Repatriation reads no topic: its own topic is all it uses.
    kind = SERVICES["repatriation"]
    generous = ServiceAccess(
        "repatriation",
        writes=("nrm.repatriation", "nrm.repatriation.audit", "nrm.referral"),
        provisions=("nrm.repatriation", "nrm.repatriation.audit"),
    )

    found = problems(generous, usage_of(kind, built_runtime(kind, keys_dir)))

    assert found == ["granted, never used: WRITE topic nrm.referral"]


def test_a_service_publishes_only_on_the_topics_it_owns_and_its_dead_letters() -> None:
    for access in backbone_access():
        dead_letters = {t for t in access.writes if ".dlq." in t}
        # Its events, and its audit log's signed heads beside them.
        owned = {f"nrm.{access.principal}", f"nrm.{access.principal}.audit"}
        assert set(access.writes) - dead_letters == owned


def test_an_empty_topic_family_prefix_is_refused_not_granted_on_every_topic() -> None:
    from referral.settings import ReferralSettings

    settings = ReferralSettings(environment="dev", provider_topic_prefix="")

    with pytest.raises(ValueError, match="provider_topic_prefix is empty"):
        topic_families(settings)
    assert topic_families(ReferralSettings(environment="dev")) == ("nrm.referral.provider.",)
