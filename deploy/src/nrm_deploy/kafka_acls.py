"""What each service's Kafka principal may do, and granting it on a secure cluster.

Deny by default (``allow.everyone.if.no.acl.found=false``); then each service may:

- write (and create, describe) only its own topic and its own dead-letter topics
  (``<subscribed topic>.dlq.<its group>``: the consumer parks what it cannot process);
- read (and describe) the topics it subscribes to, and create them when absent (a
  service provisions every topic it touches at start; creating an empty topic confers
  no right to write to it);
- use its consumer group.

The ACLs are sent as CreateAcls requests by the ``admin`` super user (aiokafka has no
ACL API of its own; its protocol classes carry the request).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest


class ResourceType(IntEnum):
    TOPIC = 2
    GROUP = 3


class Operation(IntEnum):
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8


LITERAL = 3
ALLOW = 3
ANY_HOST = "*"


@dataclass(frozen=True)
class ServiceAccess:
    """One service's principal, the topic it owns, what it subscribes to, in which group."""

    principal: str
    owns: str
    subscribes: tuple[str, ...] = ()
    consumer_group: str | None = None

    def dead_letter_topics(self) -> tuple[str, ...]:
        if self.consumer_group is None:
            return ()
        return tuple(f"{topic}.dlq.{self.consumer_group}" for topic in self.subscribes)


# The backbone as its services declare it (their ``ServiceDefinition.subscriptions``);
# a service that subscribes to a new topic needs its line here changed too.
BACKBONE_ACCESS = (
    ServiceAccess("identification", "nrm.identification"),
    ServiceAccess("referral", "nrm.referral", ("nrm.identification",), "referral"),
    ServiceAccess(
        "shelter-registry", "nrm.shelter-registry", ("nrm.referral",), "shelter-registry"
    ),
    ServiceAccess("repatriation", "nrm.repatriation"),
)


@dataclass(frozen=True)
class AclBinding:
    """One allowed operation of one principal on one literally named resource."""

    principal: str
    resource_type: ResourceType
    resource_name: str
    operation: Operation


def acl_bindings(access: ServiceAccess, topic_prefix: str = "") -> list[AclBinding]:
    """Every ACL ``access`` needs, its topic names with ``topic_prefix``."""

    def on_topics(topics: Iterable[str], *operations: Operation) -> list[AclBinding]:
        return [
            AclBinding(access.principal, ResourceType.TOPIC, f"{topic_prefix}{topic}", operation)
            for topic in topics
            for operation in operations
        ]

    written = [access.owns, *access.dead_letter_topics()]
    bindings = on_topics(written, Operation.WRITE, Operation.CREATE, Operation.DESCRIBE)
    bindings += on_topics(access.subscribes, Operation.READ, Operation.DESCRIBE, Operation.CREATE)
    if access.consumer_group is not None:
        bindings.append(
            AclBinding(access.principal, ResourceType.GROUP, access.consumer_group, Operation.READ)
        )
    return bindings


async def grant(
    bootstrap_servers: str, bindings: Iterable[AclBinding], client_options: dict[str, Any]
) -> None:
    """Create ``bindings`` on the cluster, as the super user ``client_options`` names."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000, **client_options
    )
    await admin.start()
    try:
        for binding in bindings:
            request = CreateAclsRequest(
                binding.resource_type,
                binding.resource_name,
                LITERAL,
                f"User:{binding.principal}",
                ANY_HOST,
                binding.operation,
                ALLOW,
            )
            response = await admin._send_request(request)
            for error_code, error_message in response.creation_responses:
                if error_code != 0:
                    raise RuntimeError(
                        f"creating ACL {binding}: error {error_code} {error_message}"
                    )
    finally:
        await admin.close()
