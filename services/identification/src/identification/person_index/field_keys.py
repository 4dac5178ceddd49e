"""Identification's use of field-level encryption: where each personal value is sealed,
and the keyed digests the person index blocks on."""

from __future__ import annotations

from collections.abc import Callable

from identification.person_index.domain.index import BLOCK_KEY_PURPOSE
from nrm_runtime.field_crypto import KeyRing


def digest_for(ring: KeyRing) -> Callable[[str], str]:
    """Block keys as keyed digests (HMAC under the ring's index key)."""

    def digest(key: str) -> str:
        return ring.blind_index(key, purpose=BLOCK_KEY_PURPOSE)

    return digest
