"""The CloudEvents 1.0 envelope of every event, and its Kafka binding (structured JSON mode).

Serialisation goes through the official CloudEvents SDK so that any CloudEvents reader
(another SDK, kcat piped into ``jq``) reads exactly what we write.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from cloudevents.core.bindings.kafka import KafkaMessage, from_structured, to_structured
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from nrm_contracts.registry import EventPayload, payload_class

CONTENT_TYPE = "application/cloudevents+json"
SPECVERSION = "1.0"
TRACEPARENT_PATTERN = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
REQUIRED_ATTRIBUTES = ("id", "source", "type", "specversion", "time", "subject", "traceparent")


class InvalidEvent(ValueError):
    """A record that is not a valid event of our contracts; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Actor:
    """Who caused an event: an organisation acting in a role (CloudEvents extension ``actor``)."""

    organisation: str
    role: str

    def __str__(self) -> str:
        return f"{self.organisation}/{self.role}"

    @classmethod
    def parse(cls, value: str) -> Actor:
        organisation, sep, role = value.partition("/")
        if not sep or not organisation or not role:
            raise InvalidEvent(f"extension 'actor' must be 'organisation/role', got {value!r}")
        return cls(organisation, role)


@dataclass(frozen=True)
class Envelope:
    """One event: CloudEvents attributes around a typed payload."""

    source: str
    data: EventPayload
    traceparent: str
    actor: Actor | None = None
    id: str = field(default_factory=lambda: str(uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def type(self) -> str:
        return self.data.event_type

    @property
    def subject(self) -> str:
        return self.data.subject()

    @property
    def topic(self) -> str:
        return str(self.data.topic)

    def to_cloudevent(self) -> CloudEvent:
        attributes: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "specversion": SPECVERSION,
            "time": self.time,
            "subject": self.subject,
            "datacontenttype": "application/json",
            "traceparent": self.traceparent,
        }
        if self.actor is not None:
            attributes["actor"] = str(self.actor)
        return CloudEvent(attributes, self.data.model_dump(mode="json"))

    def to_kafka(self) -> KafkaMessage:
        """The Kafka record: key = subject, value = the structured JSON envelope."""
        return to_structured(self.to_cloudevent(), JSONFormat(), key_mapper=lambda _: self.subject)

    @classmethod
    def from_kafka(
        cls, key: bytes | None, value: bytes | None, headers: dict[str, bytes] | None = None
    ) -> Envelope:
        """Parse and validate a Kafka record; raise :class:`InvalidEvent` with the reason."""
        content_type = (headers or {}).get("content-type")
        if content_type is not None and not content_type.decode(errors="replace").startswith(
            CONTENT_TYPE
        ):
            raise InvalidEvent(
                f"content-type {content_type.decode(errors='replace')!r} is not {CONTENT_TYPE}"
            )
        if not value:
            raise InvalidEvent("empty record value")
        if not key:
            # Without the key a case's events scatter across partitions, out of order.
            raise InvalidEvent("record has no key: the key must be the event subject")
        # Checked on the raw JSON: the SDK fills in a missing id, time or specversion.
        _require_attributes(_json_object(value))
        message = KafkaMessage(headers=headers or {}, key=key, value=value)
        try:
            event = from_structured(message, JSONFormat())
        except (BaseCloudEventException, ValueError, TypeError, KeyError) as exc:
            raise InvalidEvent(f"not a CloudEvents JSON envelope: {exc}") from exc
        return cls.from_cloudevent(event, key)

    @classmethod
    def from_cloudevent(cls, event: Any, key: bytes | None = None) -> Envelope:
        attributes = event.get_attributes()
        _require_attributes(attributes)
        if attributes["specversion"] != SPECVERSION:
            raise InvalidEvent(f"specversion {attributes['specversion']!r} is not {SPECVERSION}")
        traceparent = str(attributes["traceparent"])
        if not TRACEPARENT_PATTERN.match(traceparent):
            raise InvalidEvent(f"extension 'traceparent' is not W3C trace context: {traceparent!r}")
        model = payload_class(str(attributes["type"]))
        if model is None:
            raise InvalidEvent(f"unknown event type {attributes['type']!r}")
        try:
            data = model.model_validate(event.get_data())
        except ValidationError as exc:
            first = exc.errors()[0]
            where = "".join(f".{part}" for part in first["loc"])
            raise InvalidEvent(f"data{where}: {first['msg']}") from exc
        envelope = cls(
            source=str(attributes["source"]),
            data=data,
            traceparent=traceparent,
            actor=Actor.parse(str(attributes["actor"])) if attributes.get("actor") else None,
            id=str(attributes["id"]),
            time=attributes["time"],
        )
        if str(attributes["subject"]) != envelope.subject:
            raise InvalidEvent(
                f"subject {attributes['subject']!r} differs from data.{model.subject_field}"
            )
        if key is not None and key.decode(errors="replace") != envelope.subject:
            raise InvalidEvent("record key differs from the event subject")
        return envelope


def _json_object(value: bytes) -> dict[str, Any]:
    try:
        document = json.loads(value)
    except ValueError as exc:  # also UnicodeDecodeError
        raise InvalidEvent(f"not a CloudEvents JSON envelope: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidEvent("not a CloudEvents JSON envelope: the value is not a JSON object")
    return document


def _require_attributes(attributes: dict[str, Any]) -> None:
    missing = [name for name in REQUIRED_ATTRIBUTES if not attributes.get(name)]
    if missing:
        raise InvalidEvent(f"missing required attribute(s): {', '.join(missing)}")
