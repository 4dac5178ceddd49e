"""Signed liaison messages: HMAC-SHA256 over timestamp and body with the bilateral secret."""

from __future__ import annotations

import pytest

from repatriation.domain.signing import signed_headers, verify

BODY = b'{"step":"receipt_acknowledged"}'
NOW = 1_780_000_000.0


def check(headers: dict[str, str], *, body: bytes = BODY, secret: str = "s3cret", now: float = NOW):
    return verify(
        secret,
        timestamp=headers.get("X-NRM-Timestamp"),
        given=headers.get("X-NRM-Signature"),
        body=body,
        now=now,
        tolerance_seconds=300,
    )


def test_a_signed_message_verifies_and_carries_its_idempotency_key() -> None:
    headers = signed_headers("s3cret", BODY, now=NOW, idempotency_key="k-1")

    assert check(headers) is None
    assert headers["Idempotency-Key"] == "k-1"
    assert headers["X-NRM-Signature"].startswith("v1=")


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"body": b'{"step":"handover"}'}, "signature does not match"),
        ({"secret": "other"}, "signature does not match"),
        ({"now": NOW + 301}, "timestamp outside the accepted window"),
        ({"now": NOW - 301}, "timestamp outside the accepted window"),
    ],
)
def test_a_changed_body_another_secret_or_a_stale_timestamp_fails(tamper, reason) -> None:
    headers = signed_headers("s3cret", BODY, now=NOW, idempotency_key="k-1")

    assert check(headers, **tamper) == reason


def test_missing_or_malformed_headers_fail() -> None:
    assert check({}) == "signature headers missing"
    assert check({"X-NRM-Timestamp": "yesterday", "X-NRM-Signature": "v1=00"}) == (
        "malformed timestamp"
    )
