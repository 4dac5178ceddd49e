"""Logs: one JSON object per line, with the trace id, and never a person's data."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from nrm_runtime.logs import (
    REDACTED,
    JsonFormatter,
    RateLimitBrokerClient,
    ScrubPersonalData,
    configure_logging,
)


@pytest.fixture
def log_output() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the scrub filter and the JSON formatter into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter("referral"))
    handler.addFilter(ScrubPersonalData())
    logger = logging.getLogger("nrm.tests.referral.usecases")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    yield logger, buffer
    logger.handlers, logger.propagate = [], True


def entries(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize(
    "field",
    [
        "given_name",
        "family_name",
        "given_name_khmer",
        "family_name_khmer",
        "aliases",
        "date_of_birth",
        "birth_date",
        "document_number",
        "phone",
        "email",
        "address",
        "notes",
        "person",
        "names",
        "Family_Name",
    ],
)
def test_a_personal_data_extra_is_redacted(log_output, field) -> None:
    logger, buffer = log_output

    logger.info("screening recorded", extra={field: "Sokha Chan", "case_id": "c-17"})

    [entry] = entries(buffer)
    assert entry[field] == REDACTED
    assert entry["case_id"] == "c-17"
    assert "Sokha" not in buffer.getvalue()


def test_scrubbing_keeps_the_logger_name_and_the_message(log_output) -> None:
    logger, buffer = log_output

    logger.info("case %s opened", "c-17", extra={"family_name": "Chan"})

    [entry] = entries(buffer)
    assert entry["logger"] == "nrm.tests.referral.usecases"
    assert entry["message"] == "case c-17 opened"


def test_the_scrub_filter_lets_every_record_through() -> None:
    record = logging.makeLogRecord({"name": "x", "msg": "m", "given_name": "Sokha"})

    assert ScrubPersonalData().filter(record) is True
    assert record.given_name == REDACTED
    assert record.name == "x"


def test_each_entry_is_one_json_object_on_one_line(log_output) -> None:
    logger, buffer = log_output

    logger.warning("first line\nsecond line", extra={"group": "referral", "offset": 41})
    logger.info("next")

    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert {key: first[key] for key in ("level", "service", "message", "group", "offset")} == {
        "level": "WARNING",
        "service": "referral",
        "message": "first line\nsecond line",
        "group": "referral",
        "offset": 41,
    }
    assert first["time"].endswith("+00:00")


def test_an_entry_inside_a_span_carries_its_trace_id(log_output) -> None:
    logger, buffer = log_output
    tracer = TracerProvider().get_tracer("log-tests")

    with tracer.start_as_current_span("handle screening") as span:
        logger.info("inside")
    logger.info("outside")

    inside, outside = entries(buffer)
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert "trace_id" not in outside


def test_an_exception_is_logged_by_its_type_not_its_text(log_output) -> None:
    logger, buffer = log_output

    try:
        raise ValueError("duplicate key: family_name='Chan', date_of_birth='2009-01-01'")
    except ValueError:
        logger.exception("use case failed")

    [entry] = entries(buffer)
    assert entry["exception"] == "ValueError"
    assert "Chan" not in buffer.getvalue()
    assert "Traceback" not in buffer.getvalue()


def test_values_json_cannot_encode_are_written_as_text(log_output) -> None:
    logger, buffer = log_output

    logger.info("partitions", extra={"partitions": {("nrm.referral", 0)}})

    [entry] = entries(buffer)
    assert entry["partitions"] == "{('nrm.referral', 0)}"


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """The root logger; it and the loggers configure_logging touches are restored after."""
    touched = [
        logging.getLogger(name)
        for name in ("aiokafka", "uvicorn", "uvicorn.error", "uvicorn.access")
    ]
    saved = [(log, log.handlers[:], log.level, log.propagate) for log in touched]
    root = logging.getLogger()
    saved.append((root, root.handlers[:], root.level, root.propagate))
    yield root
    for log, handlers, level, propagate in saved:
        log.handlers, log.propagate = handlers, propagate
        log.setLevel(level)


def test_configure_logging_scrubs_and_formats_everything_reaching_the_root(
    root_logging,
) -> None:
    configure_logging("referral", "DEBUG")
    [handler] = root_logging.handlers
    buffer = io.StringIO()
    handler.setStream(buffer)

    logging.getLogger("some.library").info("call", extra={"phone": "+855 12 345 678"})

    [entry] = entries(buffer)
    assert (entry["service"], entry["logger"], entry["phone"]) == (
        "referral",
        "some.library",
        REDACTED,
    )
    assert root_logging.level == logging.DEBUG


def test_broker_client_warnings_reach_the_log_at_warning(root_logging) -> None:
    configure_logging("referral", "INFO")
    [handler] = root_logging.handlers
    buffer = io.StringIO()
    handler.setStream(buffer)

    logging.getLogger("aiokafka.producer.sender").warning("OutOfOrderSequenceNumber")
    logging.getLogger("aiokafka.conn").info("connecting")

    [entry] = entries(buffer)
    assert (entry["level"], entry["logger"]) == ("WARNING", "aiokafka.producer.sender")


def test_a_repeated_broker_client_message_is_let_through_once_per_interval() -> None:
    now = [0.0]
    limit = RateLimitBrokerClient(interval=30.0, clock=lambda: now[0])

    def passes(name: str, message: str) -> bool:
        return limit.filter(logging.makeLogRecord({"name": name, "msg": message, "levelno": 30}))

    assert passes("aiokafka.conn", "Unable to connect to %s")
    assert not passes("aiokafka.conn", "Unable to connect to %s")
    assert passes("aiokafka.conn", "Connection lost")  # another kind of message
    assert passes("nrm_runtime.relay", "x") and passes("nrm_runtime.relay", "x")
    now[0] = 31.0
    record = logging.makeLogRecord(
        {"name": "aiokafka.conn", "msg": "Unable to connect to %s", "levelno": 30}
    )
    assert limit.filter(record)
    assert record.held_back == 1
