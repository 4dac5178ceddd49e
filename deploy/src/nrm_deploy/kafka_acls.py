"""What each service's Kafka principal may do, and granting it on a secure cluster.

Deny by default (``allow.everyone.if.no.acl.found=false``); then each service may, as
its code uses them (:func:`nrm_deploy.kafka_access.backbone_access` reads the use from
the services themselves):

- write (and describe) the topics it publishes to: its events' topics and its own
  dead-letter topics (``<subscribed topic>.dlq.<its group>``: the consumer parks what it
  cannot process), and the topic families it writes one topic per organisation of
  (referral's ``nrm.referral.provider.<org>``: a PREFIXED ACL);
- read (and describe) the topics it subscribes to, in its own consumer group only;
- create the topics it provisions at start when absent (its own, its subscriptions',
  its dead letters; creating an empty topic confers no right to write to it).

Nothing else: :func:`acl_bindings` grants exactly that, and the tests check both ways.
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

from nrm_deploy.kafka_access import ServiceAccess, backbone_access

__all__ = [
    "AclBinding",
    "Operation",
    "PatternType",
    "ResourceType",
    "ServiceAccess",
    "acl_bindings",
    "backbone_access",
    "backbone_bindings",
    "grant",
]


class ResourceType(IntEnum):
    TOPIC = 2
    GROUP = 3


class Operation(IntEnum):
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8


class PatternType(IntEnum):
    """How an ACL's resource name matches (Kafka's codes)."""

    LITERAL = 3
    PREFIXED = 4


ALLOW = 3
ANY_HOST = "*"


@dataclass(frozen=True)
class AclBinding:
    """One allowed operation of one principal on one resource (or name prefix)."""

    principal: str
    resource_type: ResourceType
    resource_name: str
    operation: Operation
    pattern: PatternType = PatternType.LITERAL


def acl_bindings(access: ServiceAccess, topic_prefix: str = "") -> list[AclBinding]:
    """Every ACL ``access`` needs, its topic names with ``topic_prefix``."""

    def on_topics(
        topics: Iterable[str], *operations: Operation, pattern: PatternType = PatternType.LITERAL
    ) -> list[AclBinding]:
        return [
            AclBinding(
                access.principal,
                ResourceType.TOPIC,
                f"{topic_prefix}{topic}",
                operation,
                pattern,
            )
            for topic in topics
            for operation in operations
        ]

    bindings = on_topics(access.writes, Operation.WRITE, Operation.DESCRIBE)
    bindings += on_topics(access.reads, Operation.READ, Operation.DESCRIBE)
    bindings += on_topics(access.provisions, Operation.CREATE, Operation.DESCRIBE)
    # A family's topics are created on first use, each organisation's when first needed.
    bindings += on_topics(
        access.writes_prefixed,
        Operation.WRITE,
        Operation.CREATE,
        Operation.DESCRIBE,
        pattern=PatternType.PREFIXED,
    )
    bindings += [
        AclBinding(access.principal, ResourceType.GROUP, group, Operation.READ)
        for group in access.consumer_groups
    ]
    return list(dict.fromkeys(bindings))  # a topic both provisioned and read: one DESCRIBE


def backbone_bindings(topic_prefix: str = "") -> list[AclBinding]:
    """The ACLs of every backbone service, for topics named with ``topic_prefix``."""
    return [
        binding for access in backbone_access() for binding in acl_bindings(access, topic_prefix)
    ]


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
                binding.pattern,
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
