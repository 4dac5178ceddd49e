"""The envelope on the wire: what we write is read back, by us and by independent readers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured_event
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from nrm_contracts import CONTENT_TYPE, Envelope, InvalidEvent, event_types
from nrm_contracts.envelope import REQUIRED_ATTRIBUTES
from nrm_contracts.generate import generated_files

SCREENING = "kh.nrm.identification.screening.recorded.v1"

Record = tuple[bytes | None, bytes, dict[str, bytes]]


def as_record(envelope: Envelope) -> Record:
    """The record as a Kafka consumer receives it: key, value and headers in bytes."""
    message = envelope.to_kafka()
    key = message.key.encode() if isinstance(message.key, str) else message.key
    return key, message.value, dict(message.headers)


def test_every_event_type_has_a_sample(sample_data: dict[str, dict[str, Any]]) -> None:
    missing = sorted(set(event_types()) - set(sample_data))
    assert not missing, f"add sample data for {missing} to contracts/tests/conftest.py"


def test_round_trip_through_kafka_record(sample_envelope: Envelope) -> None:
    key, value, headers = as_record(sample_envelope)

    assert key == sample_envelope.subject.encode()
    assert headers == {"content-type": CONTENT_TYPE.encode()}
    assert Envelope.from_kafka(key, value, headers) == sample_envelope


def test_official_sdk_reads_what_we_write(sample_envelope: Envelope) -> None:
    message = sample_envelope.to_kafka()

    event = from_structured_event(
        KafkaMessage(headers=message.headers, key=message.key, value=message.value)
    )

    assert event.get_specversion() == "1.0"
    assert event.get_id() == sample_envelope.id
    assert event.get_source() == sample_envelope.source
    assert event.get_type() == sample_envelope.type
    assert event.get_subject() == sample_envelope.subject
    assert event.get_time() == sample_envelope.time
    assert event.get_datacontenttype() == "application/json"
    assert event.get_extension("traceparent") == sample_envelope.traceparent
    assert event.get_extension("actor") == str(sample_envelope.actor)
    assert event.get_data() == sample_envelope.data.model_dump(mode="json")


def test_plain_json_reader_sees_every_required_attribute(sample_envelope: Envelope) -> None:
    # What `kcat ... | jq` shows: no SDK, just the JSON value.
    _, value, _ = as_record(sample_envelope)

    document = json.loads(value)

    for attribute in REQUIRED_ATTRIBUTES:
        assert isinstance(document.get(attribute), str) and document[attribute], attribute
    assert document["specversion"] == "1.0"
    assert document["type"] == sample_envelope.type
    assert document["subject"] == sample_envelope.subject
    assert document["data"][sample_envelope.data.subject_field] == sample_envelope.subject
    assert datetime.fromisoformat(document["time"]) == sample_envelope.time
    assert document["actor"] == "moi-antitrafficking/police-officer"


def test_envelope_schema_validates_a_real_event(sample_envelope: Envelope) -> None:
    _, value, _ = as_record(sample_envelope)
    validator = schema_validator(sample_envelope.type)

    validator.validate(json.loads(value))


@pytest.mark.parametrize(
    ("change", "where", "complaint"),
    [
        pytest.param(lambda doc: doc.pop("traceparent"), "", "'traceparent'", id="no traceparent"),
        pytest.param(
            lambda doc: doc.update(traceparent="00-1-2-01"), "traceparent", "match", id="bad tp"
        ),
        pytest.param(lambda doc: doc.update(actor="no-role"), "actor", "match", id="bad actor"),
        pytest.param(lambda doc: doc.update(type="kh.nrm.other.v1"), "type", "", id="other type"),
        pytest.param(lambda doc: doc.update(specversion="0.3"), "specversion", "", id="0.3"),
        pytest.param(lambda doc: doc["data"].pop("case_id"), "data", "'case_id'", id="no case_id"),
        pytest.param(lambda doc: doc["data"].update(sex="x"), "data.sex", "'x'", id="data enum"),
        pytest.param(lambda doc: doc["data"].update(case_id=7), "data.case_id", "7", id="int id"),
        pytest.param(
            lambda doc: doc["data"].update(case_id="case-7"), "data.case_id", "uuid", id="not uuid"
        ),
    ],
)
def test_envelope_schema_rejects_an_invalid_event(
    envelope_of: Callable[[str], Envelope],
    change: Callable[[dict[str, Any]], Any],
    where: str,
    complaint: str,
) -> None:
    _, value, _ = as_record(envelope_of(SCREENING))
    document = json.loads(value)
    change(document)

    with pytest.raises(ValidationError) as error:
        schema_validator(SCREENING).validate(document)

    assert ".".join(str(part) for part in error.value.absolute_path) == where
    assert complaint in error.value.message


def schema_validator(event_type: str) -> Draft202012Validator:
    """A validator of the generated schema file of ``event_type``, checking formats too."""
    schema = json.loads(generated_files()[f"{event_type}.json"])
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def replace_value(change: Callable[[dict[str, Any]], Any]) -> Callable[[Record], Record]:
    """A record change that edits the JSON envelope in the value."""

    def edit(record: Record) -> Record:
        key, value, headers = record
        document = json.loads(value)
        change(document)
        return key, json.dumps(document).encode(), headers

    return edit


INVALID_RECORDS: list[Any] = [
    pytest.param(
        lambda r: (r[0], b"{not json", r[2]), "not a CloudEvents JSON envelope", id="not JSON"
    ),
    pytest.param(
        lambda r: (r[0], b'["an", "array"]', r[2]), "not a JSON object", id="not an object"
    ),
    pytest.param(lambda r: (r[0], b"", r[2]), "empty record value", id="empty value"),
    pytest.param(
        replace_value(lambda doc: doc.pop("subject")),
        "missing required attribute(s): subject",
        id="missing subject",
    ),
    pytest.param(
        replace_value(lambda doc: doc.pop("traceparent")),
        "missing required attribute(s): traceparent",
        id="missing traceparent",
    ),
    pytest.param(
        replace_value(lambda doc: [doc.pop("id"), doc.pop("time")]),
        "missing required attribute(s): id, time",
        id="missing id and time (the SDK would invent them)",
    ),
    pytest.param(
        replace_value(lambda doc: doc.update(traceparent="not-a-trace")),
        "'traceparent' is not W3C trace context",
        id="bad traceparent",
    ),
    pytest.param(
        replace_value(lambda doc: doc.update(type="kh.nrm.identification.unheard.of.v1")),
        "unknown event type 'kh.nrm.identification.unheard.of.v1'",
        id="unknown type",
    ),
    pytest.param(
        replace_value(lambda doc: doc["data"].update(is_child="perhaps")),
        "data.is_child:",
        id="data field of wrong type",
    ),
    pytest.param(
        replace_value(lambda doc: doc["data"].pop("recorded_at")),
        "data.recorded_at: Field required",
        id="data field missing",
    ),
    pytest.param(
        replace_value(lambda doc: doc.update(subject="0b6f2a8e-0000-0000-0000-000000000000")),
        "subject '0b6f2a8e-0000-0000-0000-000000000000' differs from data.case_id",
        id="subject differing from data",
    ),
    pytest.param(
        lambda r: (b"some-other-case", r[1], r[2]),
        "record key differs from the event subject",
        id="key differing from subject",
    ),
    pytest.param(
        lambda r: (None, r[1], r[2]),
        "record has no key",
        id="no key",
    ),
    pytest.param(
        lambda r: (r[0], r[1], {"content-type": b"application/json"}),
        "content-type 'application/json' is not application/cloudevents+json",
        id="wrong content-type header",
    ),
    pytest.param(
        replace_value(lambda doc: doc.update(specversion="0.3")),
        "specversion '0.3' is not 1.0",
        id="specversion 0.3",
    ),
    pytest.param(
        replace_value(lambda doc: doc.update(actor="nobody")),
        "extension 'actor' must be 'organisation/role'",
        id="bad actor",
    ),
]


@pytest.mark.parametrize(("corrupt", "reason"), INVALID_RECORDS)
def test_invalid_record_is_rejected_with_its_reason(
    envelope_of: Callable[[str], Envelope], corrupt: Callable[[Record], Record], reason: str
) -> None:
    key, value, headers = corrupt(as_record(envelope_of(SCREENING)))

    with pytest.raises(InvalidEvent) as invalid:
        Envelope.from_kafka(key, value, headers)

    assert reason in invalid.value.reason
