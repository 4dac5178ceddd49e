"""Typed event payloads and the registry of every published event type."""

from __future__ import annotations

import re
from functools import cache
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from nrm_contracts.topics import Topic

EVENT_TYPE_PATTERN = re.compile(r"^kh\.nrm\.[a-z_]+(\.[a-z_]+)+\.v[1-9][0-9]*$")


class EventPayload(BaseModel):
    """The ``data`` of one event type.

    Subclasses name their CloudEvents ``type`` (``kh.nrm.<service>.<event>.v<N>``), the
    topic of the service that owns them, and the field whose value is the ``subject``
    and Kafka key (the case or facility id). Readers are tolerant: unknown fields are
    ignored, so a producer may add optional fields without breaking anyone.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    topic: ClassVar[Topic]
    subject_field: ClassVar[str]
    # The address it travels on when not its owner's topic: a family of topics, one per
    # reader (``{...}`` names the parameter), as for the notices to providers.
    channel: ClassVar[str | None] = None

    def subject(self) -> str:
        """The id this event is about: the envelope's ``subject`` and the Kafka key."""
        return str(getattr(self, self.subject_field))


def _all_payload_classes() -> list[type[EventPayload]]:
    # Imported here, not at module top, so that the event modules may import this one.
    from nrm_contracts.events import (
        audit,
        identification,
        referral,
        repatriation,
        shelter_registry,
    )

    return [
        *identification.EVENTS,
        *referral.EVENTS,
        *shelter_registry.EVENTS,
        *repatriation.EVENTS,
        *audit.EVENTS,
    ]


@cache
def event_types() -> dict[str, type[EventPayload]]:
    """Every event type of the backbone, by its CloudEvents ``type`` string."""
    registry: dict[str, type[EventPayload]] = {}
    for cls in _all_payload_classes():
        if not EVENT_TYPE_PATTERN.match(cls.event_type):
            raise ValueError(f"{cls.__name__}: malformed event type {cls.event_type!r}")
        if cls.event_type in registry:
            raise ValueError(f"event type {cls.event_type!r} registered twice")
        if cls.subject_field not in cls.model_fields:
            raise ValueError(f"{cls.__name__}: subject field {cls.subject_field!r} missing")
        registry[cls.event_type] = cls
    return registry


@cache
def notice_types() -> dict[str, type[EventPayload]]:
    """Every notice type (a delivery to one reader, not a backbone event), by type."""
    from nrm_contracts.events import notices

    return {cls.event_type: cls for cls in notices.NOTICES}


def contract_types() -> dict[str, type[EventPayload]]:
    """Every type a contract defines: the backbone's events and the notices."""
    return {**event_types(), **notice_types()}


def payload_class(event_type: str) -> type[EventPayload] | None:
    """The payload model of ``event_type``, or None when no contract defines it."""
    return event_types().get(event_type)
