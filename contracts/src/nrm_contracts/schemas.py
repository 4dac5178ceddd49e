"""JSON Schemas (draft 2020-12) of the events: each type's ``data``, and the whole envelope.

The ``data`` schema is what pydantic derives from the payload model; it is what gets
frozen in ``contracts/published/`` and compared for compatibility. The envelope schema
wraps it in the CloudEvents attributes we require, so that a reader in any language can
validate a whole Kafka record value with an off-the-shelf JSON Schema validator.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from nrm_contracts.envelope import (
    CONTENT_TYPE,
    REQUIRED_ATTRIBUTES,
    SPECVERSION,
    TRACEPARENT_PATTERN,
)
from nrm_contracts.registry import EventPayload, contract_types

JsonSchema = dict[str, Any]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# A URN rather than a URL: the schemas are not served from anywhere, and an https $id on
# a domain we do not control would invite tools to fetch it.
SCHEMA_ID_PREFIX = "urn:kh-nrm:schema:"
# Actor.parse splits at the first '/': the organisation has none, the role may.
ACTOR_PATTERN = r"^[^/]+/.+$"
DATA_CONTENT_TYPE = "application/json"


def json_text(document: Any) -> str:
    """``document`` as the JSON text of a checked-in file: stable, sorted, readable."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def data_schema(payload: type[EventPayload]) -> JsonSchema:
    """The JSON Schema of one event type's ``data``, as readers validate it."""
    # Validation mode: the contract is what readers accept, which a producer must write.
    return payload.model_json_schema(mode="validation")


def data_schemas() -> dict[str, JsonSchema]:
    """The ``data`` schema of every event and notice type, by type."""
    return {event_type: data_schema(cls) for event_type, cls in sorted(contract_types().items())}


def schema_id(event_type: str) -> str:
    """The ``$id`` of the envelope schema of ``event_type``."""
    return f"{SCHEMA_ID_PREFIX}{event_type}"


def envelope_schema(payload: type[EventPayload]) -> JsonSchema:
    """The JSON Schema of a whole CloudEvents envelope carrying ``payload`` as its data.

    The data schema's ``$defs`` move to the envelope's root, where its ``#/$defs/...``
    references still point.
    """
    data = copy.deepcopy(data_schema(payload))
    definitions = data.pop("$defs", None)
    subject_source = f"data.{payload.subject_field}"
    schema: JsonSchema = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(payload.event_type),
        "title": payload.event_type,
        "description": (
            f"{data.get('description', payload.__name__)}\n\n"
            f"A CloudEvents {SPECVERSION} envelope in structured JSON mode ({CONTENT_TYPE}) "
            f"on Kafka topic {payload.channel or payload.topic.value}. Its subject, which is "
            "also the Kafka "
            f"record key, is {subject_source}."
        ),
        "type": "object",
        "properties": {
            "id": {
                "type": "string",
                "minLength": 1,
                "description": "Unique per source; readers deduplicate on (source, id).",
            },
            "source": {
                "type": "string",
                "format": "uri-reference",
                "minLength": 1,
                "description": "The producing service.",
            },
            "type": {"const": payload.event_type, "description": "The event type and version."},
            "specversion": {"const": SPECVERSION},
            "time": {"type": "string", "format": "date-time"},
            "subject": _subject_schema(payload, data),
            "datacontenttype": {"const": DATA_CONTENT_TYPE},
            "traceparent": {
                "type": "string",
                "pattern": TRACEPARENT_PATTERN.pattern,
                "description": "W3C trace context of the request that caused the event.",
            },
            "actor": {
                "type": "string",
                "pattern": ACTOR_PATTERN,
                "description": "Who caused the event: 'organisation/role'.",
            },
            "data": data,
        },
        "required": [*REQUIRED_ATTRIBUTES, "data"],
    }
    if definitions:
        schema["$defs"] = definitions
    return schema


def envelope_schemas() -> dict[str, JsonSchema]:
    """The envelope schema of every event and notice type, by type."""
    return {
        event_type: envelope_schema(cls) for event_type, cls in sorted(contract_types().items())
    }


def _subject_schema(payload: type[EventPayload], data: JsonSchema) -> JsonSchema:
    subject: JsonSchema = {
        "type": "string",
        "minLength": 1,
        "description": (
            f"Equals data.{payload.subject_field}; also the Kafka record key, so that the "
            "events about one subject stay in order."
        ),
    }
    # A subject that is a UUID field on the payload is a UUID in the envelope too.
    subject_field = data.get("properties", {}).get(payload.subject_field, {})
    if subject_field.get("type") == "string" and "format" in subject_field:
        subject["format"] = subject_field["format"]
    return subject
