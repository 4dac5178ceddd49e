"""Signed liaison messages: HMAC-SHA256 over the timestamp and the exact body.

Both directions use the same scheme and the counterpart's shared secret. The bearer
token says which agency calls; the signature proves the body was not altered on the way
and was made by a holder of the bilateral secret, and the timestamp bounds replays
(a replay inside the window is answered from the idempotency record, not re-applied).

Headers: ``X-NRM-Timestamp`` (Unix seconds), ``X-NRM-Signature`` (``v1=<hex>``),
``Idempotency-Key`` (one per message; a retry repeats it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

TIMESTAMP_HEADER = "X-NRM-Timestamp"
SIGNATURE_HEADER = "X-NRM-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SENDER_HEADER = "X-NRM-Sender"
SCHEME = "v1"


def canonical_json(body: dict[str, Any]) -> str:
    """The exact text that is stored, signed and sent."""
    return json.dumps(body, default=str, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256 of "<timestamp>." + body>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, *, now: float, idempotency_key: str) -> dict[str, str]:
    """The headers of a signed message sent at ``now`` (Unix seconds)."""
    timestamp = str(int(now))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        IDEMPOTENCY_HEADER: idempotency_key,
    }


def verify(
    secret: str,
    *,
    timestamp: str | None,
    given: str | None,
    body: bytes,
    now: float,
    tolerance_seconds: int,
) -> str | None:
    """None if the signature is valid and fresh; otherwise why not."""
    if not timestamp or not given:
        return "signature headers missing"
    try:
        moment = int(timestamp)
    except ValueError:
        return "malformed timestamp"
    if abs(now - moment) > tolerance_seconds:
        return "timestamp outside the accepted window"
    if not hmac.compare_digest(signature(secret, timestamp, body), given):
        return "signature does not match"
    return None
