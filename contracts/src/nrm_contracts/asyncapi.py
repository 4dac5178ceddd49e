"""The AsyncAPI 3.0.0 document of the backbone: topics, their events, who sends and receives.

One channel per topic (its address is the topic name), one message per event type whose
payload is the type's envelope schema, one ``send`` operation per topic by the service
that owns it, and the ``receive`` operations we know of. The document is self-contained:
the envelope schemas are embedded under ``components.schemas``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nrm_contracts.envelope import CONTENT_TYPE, SPECVERSION
from nrm_contracts.registry import EventPayload, event_types, notice_types
from nrm_contracts.schemas import JsonSchema, envelope_schema
from nrm_contracts.topics import Topic, dead_letter_topic

ASYNCAPI_VERSION = "3.0.0"
DOCUMENT_VERSION = "0.1.0"
KAFKA_BINDING_VERSION = "0.5.0"
LOCAL_SERVER_ID = "kafka"
LOCAL_BROKER = "127.0.0.1:9092"
TOPIC_PREFIX = "nrm."
PROVIDER_NOTICES = "provider_notices"
AUDIT_HEADS = "audit_heads"
DEAD_LETTERS = "dead_letters"
DEAD_LETTER_MESSAGE = "DeadLetter"
# Set by the consumer on every record it parks (nrm_runtime.consumer.dead_letter).
DEAD_LETTER_HEADERS = {
    "nrm.dlq.reason": "Why the record could not be processed (no personal data).",
    "nrm.dlq.topic": "The topic the record was read from.",
    "nrm.dlq.partition": "Its partition there (decimal).",
    "nrm.dlq.offset": "Its offset there (decimal).",
    "nrm.dlq.consumer-group": "The consumer group that could not process it.",
}


@dataclass(frozen=True)
class Subscription:
    """A service that reads ``events`` (all on one topic) from their owner's topic."""

    service: str
    events: tuple[type[EventPayload], ...]
    purpose: str

    @property
    def topic(self) -> Topic:
        (topic,) = {event.topic for event in self.events}
        return topic


def known_subscriptions() -> tuple[Subscription, ...]:
    """Who reads what: the event types each consumer handles (the deploy package's tests
    check this list against the services' own subscriptions, both ways)."""
    # Imported here, not at module top, so that the event modules may import this one.
    from nrm_contracts.events import identification, referral, repatriation, shelter_registry

    return (
        Subscription(
            "referral",
            (
                identification.VictimPresumed,
                identification.VictimIdentified,
                identification.ConsentChanged,
            ),
            "opens a referral case for a presumed or identified victim with a valid consent "
            "basis, and records consent withdrawn",
        ),
        Subscription(
            "referral",
            (
                shelter_registry.FacilityRegistered,
                shelter_registry.FacilityUpdated,
                shelter_registry.FacilityStatusChanged,
                shelter_registry.CapacityChanged,
                shelter_registry.PlacementRefused,
            ),
            "keeps its directory of providers and free beds for matching, and learns of a "
            "placement a full facility refused",
        ),
        Subscription(
            "referral",
            (repatriation.HandoverCompleted,),
            "opens a reception referral when a returning person has been handed over",
        ),
        Subscription(
            "shelter-registry",
            (referral.PlacementStarted, referral.PlacementEnded),
            "keeps shelter occupancy from the referral service's placement events",
        ),
        Subscription(
            "identification",
            (
                referral.ReferralCaseOpened,
                referral.ReferralOpened,
                referral.PlacementStarted,
                referral.PlacementEnded,
            ),
            "keeps whether a victim linked to criminal proceedings is in assistance, "
            "reintegrated or gone, and the NRM organisation to contact (never the shelter)",
        ),
        Subscription(
            "identification",
            (
                repatriation.RepatriationProposed,
                repatriation.HandoverCompleted,
                repatriation.RepatriationClosed,
            ),
            "keeps whether a victim linked to criminal proceedings was repatriated, and where to",
        ),
    )


def owning_service(topic: Topic) -> str:
    """The service that owns ``topic``: the only one that publishes to it."""
    # Topics are named after their owner (see topics.py): nrm.<service>.
    return topic.value.removeprefix(TOPIC_PREFIX)


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of every topic and event type, as plain data."""
    types_by_topic = _event_types_by_topic()
    notices = dict(sorted(notice_types().items()))
    heads = _audit_head_types()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": _info(),
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            LOCAL_SERVER_ID: {
                "host": LOCAL_BROKER,
                "protocol": "kafka",
                "title": "Local development broker",
                "description": "The single-node Kafka broker that `make run` starts.",
            }
        },
        "channels": {
            **{_channel_id(topic): _channel(topic, types_by_topic[topic]) for topic in Topic},
            PROVIDER_NOTICES: _provider_channel(notices),
            AUDIT_HEADS: _audit_channel(heads),
            DEAD_LETTERS: _dead_letter_channel(),
        },
        "operations": {
            **_operations(types_by_topic),
            **_delivery_operations(notices),
            **_audit_operations(heads),
        },
        "components": {
            "schemas": {
                event_type: _embedded_schema(cls)
                for topic_types in (*types_by_topic.values(), notices, heads)
                for event_type, cls in topic_types.items()
            },
            "messages": {
                **{
                    event_type: _message(cls)
                    for topic_types in (*types_by_topic.values(), notices, heads)
                    for event_type, cls in topic_types.items()
                },
                DEAD_LETTER_MESSAGE: _dead_letter_message(),
            },
        },
    }


def _info() -> dict[str, Any]:
    return {
        "title": "NRM backbone events",
        "version": DOCUMENT_VERSION,
        "description": (
            "Events of the National Referral Mechanism backbone for victims of human "
            "trafficking.\n\n"
            f"Every record value is a CloudEvents {SPECVERSION} envelope in structured JSON "
            f"mode ({CONTENT_TYPE}, also the record's content-type header). Its type is "
            "kh.nrm.<service>.<event>.v<N>; its subject is the case or facility id the event "
            "is about and is also the Kafka record key, so that the events about one case "
            "stay in order. Required attributes: id, source, type, specversion, time, "
            "subject and the extension traceparent (W3C trace context); the optional "
            "extension actor names who caused the event as 'organisation/role'.\n\n"
            "Each topic is owned by one service, the only one that publishes to it. A "
            "version of an event type never changes in a way that breaks its readers; a "
            "breaking change is a new type with the next version number."
        ),
    }


def _event_types_by_topic() -> dict[Topic, dict[str, type[EventPayload]]]:
    by_topic: dict[Topic, dict[str, type[EventPayload]]] = {topic: {} for topic in Topic}
    for event_type, cls in sorted(event_types().items()):
        if cls.channel is None:  # the others travel on a channel of their own
            by_topic[cls.topic][event_type] = cls
    return by_topic


def _audit_head_types() -> dict[str, type[EventPayload]]:
    from nrm_contracts.events.audit import AUDIT_CHANNEL

    return {t: cls for t, cls in sorted(event_types().items()) if cls.channel == AUDIT_CHANNEL}


def _audit_channel(heads: dict[str, type[EventPayload]]) -> dict[str, Any]:
    (address,) = {cls.channel for cls in heads.values()}
    return {
        "address": address,
        "title": "nrm.<service>.audit",
        "description": (
            "Each service's audit log (a Merkle tree, RFC 9162) publishes its signed tree "
            "heads here, on a topic beside its own, each time the log grows. Only that "
            "service publishes there. Keep them: `nrm audit verify` checks a service's "
            "database against them, so that a rewritten log is detected. Record key = the "
            "log id (the service name)."
        ),
        "parameters": {
            "service": {
                "description": "The service whose log it is.",
                "enum": sorted(owning_service(cls.topic) for cls in heads.values()),
            }
        },
        "messages": {
            event_type: {"$ref": f"#/components/messages/{_pointer_token(event_type)}"}
            for event_type in heads
        },
    }


def _audit_operations(heads: dict[str, type[EventPayload]]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for event_type, cls in heads.items():
        service = owning_service(cls.topic)
        operations[f"{service}.send.{AUDIT_HEADS}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{AUDIT_HEADS}"},
            "title": f"{service} publishes its audit log's signed tree heads",
            "messages": [
                {"$ref": f"#/channels/{AUDIT_HEADS}/messages/{_pointer_token(event_type)}"}
            ],
            "tags": [{"name": service}],
        }
    return operations


def _channel_id(topic: Topic) -> str:
    return topic.name.lower()


def _channel(topic: Topic, topic_types: dict[str, type[EventPayload]]) -> dict[str, Any]:
    return {
        "address": topic.value,
        "title": topic.value,
        "description": (
            f"Owned by the {owning_service(topic)} service, the only one that publishes "
            "here. Record key = the event's subject."
        ),
        "messages": {
            event_type: {"$ref": f"#/components/messages/{_pointer_token(event_type)}"}
            for event_type in topic_types
        },
        "bindings": {"kafka": {"topic": topic.value, "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _provider_channel(notices: dict[str, type[EventPayload]]) -> dict[str, Any]:
    (address,) = {cls.channel for cls in notices.values()}
    return {
        "address": address,
        "title": "nrm.referral.provider.<organisation id>",
        "description": (
            "One topic per provider organisation, created by the referral service when it "
            "first has a notice for it: each carries only the notices of the referrals "
            "addressed to that organisation (the same CloudEvents body its webhook gets), "
            "for providers that run their own consumer. Record key = the referral id; "
            "header delivery-id identifies the delivery. Only the referral service "
            "publishes here; the organisation reads its own topic only."
        ),
        "parameters": {
            "organisation": {
                "description": "The provider organisation's id, as in its tokens.",
                "examples": ["ngo-shelter-a"],
            }
        },
        "messages": {
            event_type: {"$ref": f"#/components/messages/{_pointer_token(event_type)}"}
            for event_type in notices
        },
    }


def _dead_letter_channel() -> dict[str, Any]:
    return {
        "address": dead_letter_topic("{topic}", "{consumer_group}"),
        "title": "<topic>.dlq.<consumer group>",
        "description": (
            "Where a consumer group parks a record of a topic it cannot process (not a "
            "CloudEvents envelope of our contracts, an unknown type, invalid data, a "
            "handler failing for good), unchanged, with the reason in its headers; the "
            "group then goes on with the next record. One per (topic, group): each owner "
            "replays its own. Written by the consumer group named in the address."
        ),
        "parameters": {
            "topic": {
                "description": "The topic the record was read from.",
                "enum": [topic.value for topic in Topic],
            },
            "consumer_group": {
                "description": "The consumer group (the reading service's name).",
                "enum": sorted({s.service for s in known_subscriptions()}),
            },
        },
        "messages": {DEAD_LETTER_MESSAGE: {"$ref": f"#/components/messages/{DEAD_LETTER_MESSAGE}"}},
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": DEAD_LETTER_MESSAGE,
        "title": "A record parked by a consumer group",
        "summary": "The original record, key and value unchanged, with the reason.",
        "headers": {
            "type": "object",
            "properties": {
                **{
                    name: {"type": "string", "description": description}
                    for name, description in DEAD_LETTER_HEADERS.items()
                },
                "content-type": {
                    "type": "string",
                    "description": "The original record's, when it had one.",
                },
            },
            "required": sorted(DEAD_LETTER_HEADERS),
        },
        "payload": {
            "description": (
                "The original record's value, byte for byte: usually a CloudEvents envelope "
                "of this document, but possibly anything (that is why it is here)."
            )
        },
    }


def _delivery_operations(notices: dict[str, type[EventPayload]]) -> dict[str, Any]:
    operations: dict[str, Any] = {
        f"referral.send.{PROVIDER_NOTICES}": {
            "action": "send",
            "channel": {"$ref": f"#/channels/{PROVIDER_NOTICES}"},
            "title": "referral notifies a provider on its own topic",
            "summary": "What changed in a referral addressed to the provider.",
            "messages": [
                {"$ref": f"#/channels/{PROVIDER_NOTICES}/messages/{_pointer_token(t)}"}
                for t in notices
            ],
            "tags": [{"name": "referral"}],
        }
    }
    for service in sorted({s.service for s in known_subscriptions()}):
        operations[f"{service}.send.{DEAD_LETTERS}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{DEAD_LETTERS}"},
            "title": f"{service} parks the records it cannot process",
            "messages": [{"$ref": f"#/channels/{DEAD_LETTERS}/messages/{DEAD_LETTER_MESSAGE}"}],
            "tags": [{"name": service}],
        }
    return operations


def _operations(
    types_by_topic: dict[Topic, dict[str, type[EventPayload]]],
) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for topic, topic_types in types_by_topic.items():
        service = owning_service(topic)
        operations[f"{service}.send"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{_channel_id(topic)}"},
            "title": f"{service} publishes on {topic.value}",
            "summary": f"The {service} service records its events on its own topic.",
            "messages": _message_refs(topic, topic_types),
            "tags": [{"name": service}],
        }
    for subscription in known_subscriptions():
        received = {event.event_type: event for event in subscription.events}
        operations[f"{subscription.service}.receive.{_channel_id(subscription.topic)}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{_channel_id(subscription.topic)}"},
            "title": f"{subscription.service} reads {subscription.topic.value}",
            "summary": f"The {subscription.service} service {subscription.purpose}.",
            "messages": _message_refs(subscription.topic, received),
            "tags": [{"name": subscription.service}],
        }
    return operations


def _message_refs(topic: Topic, topic_types: dict[str, type[EventPayload]]) -> list[Any]:
    channel = _channel_id(topic)
    return [
        {"$ref": f"#/channels/{channel}/messages/{_pointer_token(event_type)}"}
        for event_type in topic_types
    ]


def _message(payload: type[EventPayload]) -> dict[str, Any]:
    description = payload.model_json_schema().get("description", payload.__name__)
    subject_source = f"data.{payload.subject_field}"
    return {
        "name": payload.__name__,
        "title": payload.event_type,
        "summary": str(description).split("\n", 1)[0],
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "properties": {"content-type": {"type": "string", "const": CONTENT_TYPE}},
        },
        "payload": {"$ref": f"#/components/schemas/{_pointer_token(payload.event_type)}"},
        "correlationId": {
            "description": (
                f"The CloudEvents subject, {subject_source}: the case or facility the event "
                "is about. It is also the Kafka record key."
            ),
            "location": "$message.payload#/subject",
        },
        "bindings": {
            "kafka": {
                "key": {
                    **envelope_schema(payload)["properties"]["subject"],
                    "description": f"Equals the CloudEvents subject ({subject_source}).",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _embedded_schema(payload: type[EventPayload]) -> JsonSchema:
    """The envelope schema as it sits in ``components.schemas``.

    AsyncAPI tools resolve ``$ref`` against the whole document, not against a schema's
    ``$id``: the ``#/$defs/...`` references are rebased onto the schema's place in the
    document, and ``$id``/``$schema`` are left out so that no tool resolves otherwise.
    """
    schema = envelope_schema(payload)
    schema.pop("$schema", None)
    schema.pop("$id", None)
    base = f"#/components/schemas/{_pointer_token(payload.event_type)}"
    rebased: JsonSchema = _rebase_local_refs(schema, base)
    return rebased


def _rebase_local_refs(node: Any, base: str) -> Any:
    if isinstance(node, dict):
        rebased = {key: _rebase_local_refs(value, base) for key, value in node.items()}
        ref = rebased.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            rebased["$ref"] = base + ref[1:]
        return rebased
    if isinstance(node, list):
        return [_rebase_local_refs(item, base) for item in node]
    return node


def _pointer_token(name: str) -> str:
    """``name`` escaped as one JSON Pointer reference token (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")
