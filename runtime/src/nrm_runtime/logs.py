"""Structured JSON logs, one object per line, with the trace id and no personal data.

Nothing in the runtime logs a payload. The scrubbing filter is the second line of
defence: any ``extra`` field whose name is a personal-data field is replaced, so a
careless ``log.info(..., extra={"family_name": ...})`` cannot leak a name.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

PERSONAL_DATA_FIELDS = frozenset(
    {
        "name",
        "names",
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
    }
)
REDACTED = "[redacted]"
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


class ScrubPersonalData(logging.Filter):
    """Replace personal-data fields of a log record's ``extra`` by a marker."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in list(vars(record).items()):
            if key in _STANDARD_ATTRIBUTES:
                continue
            if key.lower() in PERSONAL_DATA_FIELDS:
                setattr(record, key, REDACTED)
            elif isinstance(value, dict):
                setattr(record, key, _scrubbed(value))
        return True


def _scrubbed(value: Any) -> Any:
    """A copy of ``value`` with personal-data keys redacted at any depth."""
    if isinstance(value, dict):
        return {
            key: REDACTED if str(key).lower() in PERSONAL_DATA_FIELDS else _scrubbed(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrubbed(item) for item in value]
    return value


BROKER_CLIENT_LOGGER = "aiokafka"
BROKER_CLIENT_LOG_INTERVAL_SECONDS = 30.0


class RateLimitBrokerClient(logging.Filter):
    """At most one record per ``interval`` of each aiokafka message, with the count of
    those held back since.

    During an outage aiokafka logs every failed connection, several a second; silenced
    altogether it hid why a producer stopped delivering (the sequence errors of an
    idempotent producer). The first of each kind is kept, then one per interval.
    """

    def __init__(
        self,
        interval: float = BROKER_CLIENT_LOG_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._held_back: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(BROKER_CLIENT_LOGGER) or record.levelno >= logging.CRITICAL:
            return True
        kind = (record.name, str(record.msg))
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._held_back[kind] = self._held_back.get(kind, 0) + 1
            return False
        self._last[kind] = now
        held_back = self._held_back.pop(kind, 0)
        if held_back:
            record.held_back = held_back
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace id, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
        for key, value in vars(record).items():
            # Extras never overwrite the formatter's own fields (time, level, service...).
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type and where, not its text: messages can quote values.
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send the process's logs to stderr as JSON lines, scrubbed."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(ScrubPersonalData())
    handler.addFilter(RateLimitBrokerClient())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # aiokafka's own warnings and errors say what the broker answered (they name the
    # real cause of a stuck producer); rate-limited by the handler, never silenced.
    logging.getLogger(BROKER_CLIENT_LOGGER).setLevel(
        logging.WARNING if level != "DEBUG" else logging.DEBUG
    )
    # Alembic narrates every migration step at INFO; a start-up needs none of it.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # uvicorn's access log quotes the path, and paths hold ids only; keep it but as JSON.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
