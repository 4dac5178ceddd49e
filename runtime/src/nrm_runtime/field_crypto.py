"""Field-level encryption of personal data at rest, and blind indexes for exact lookup.

A sealed value is ``v1.<kid>.<base64url(nonce | ciphertext+tag)>``: AES-256-GCM with a
fresh 96-bit nonce per value, the key named by ``kid`` so keys can rotate, and associated
data binding the ciphertext to its place (table, record id, field). A value copied into
another record or field does not decrypt: a database writer cannot move a victim's name
onto another case without the key.

Why an explicit API and no column type: the associated data needs the record's id, which
a SQLAlchemy type never sees when it binds a value. Services call :meth:`KeyRing.seal`
when they write and :meth:`KeyRing.open` when they read, naming the place both times.

Exact lookup (a document number, a name) goes through :meth:`KeyRing.blind_index`: an
HMAC-SHA256 of the normalised value under a separate key, stored beside the ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = "v1"
NONCE_BYTES = 12
KEY_BYTES = 32
_KID = re.compile(r"^[a-z0-9]{1,32}$")


class FieldCryptoError(Exception):
    """A sealed value cannot be opened: tampered, moved, malformed, or its key is gone.

    The message never quotes the value (it may be personal data).
    """


@dataclass(frozen=True)
class FieldKey:
    """One AES-256 key of the ring, named by its ``kid``."""

    kid: str
    secret: bytes

    def __post_init__(self) -> None:
        if not _KID.match(self.kid):
            raise ValueError("a field key id is 1-32 lower-case letters and digits")
        if len(self.secret) != KEY_BYTES:
            raise ValueError(f"a field key is {KEY_BYTES} bytes")


def _place(table: str, record_id: str, field: str) -> bytes:
    """The associated data: unambiguous (JSON), so no two places encode alike."""
    if not (table and record_id and field):
        raise ValueError("table, record_id and field are all required")
    return json.dumps([FORMAT_VERSION, table, str(record_id), field]).encode()


def normalise_for_index(value: str) -> str:
    """What a blind index compares: NFC, case-folded, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


class KeyRing:
    """The keys of field-level encryption: the newest seals, every one still opens.

    ``keys`` are oldest first; ``index_key`` keys the blind indexes and never rotates
    (its digests would have to be recomputed from every plaintext).
    """

    def __init__(self, keys: Sequence[FieldKey], index_key: bytes) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        if len(index_key) != KEY_BYTES:
            raise ValueError(f"the index key is {KEY_BYTES} bytes")
        self._keys = {key.kid: AESGCM(key.secret) for key in keys}
        if len(self._keys) != len(keys):
            raise ValueError("field key ids must differ")
        self.current_kid = keys[-1].kid
        self._index_key = index_key

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        """The ring in a key file written by :func:`create_key_file` / :func:`add_key`."""
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(
                f"field encryption keys not found at {path}: run `nrm keys init` (dev) "
                "or set the service's FIELD_KEYS_FILE"
            ) from None
        return cls(
            [FieldKey(key["kid"], _b64decode(key["secret"])) for key in document["keys"]],
            _b64decode(document["index_key"]),
        )

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def seal(self, value: str, *, table: str, record_id: str, field: str) -> str:
        """``value`` encrypted with the current key, bound to (table, record id, field)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.current_kid].encrypt(
            nonce, value.encode(), _place(table, record_id, field)
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{FORMAT_VERSION}.{self.current_kid}.{body}"

    def open(self, sealed: str, *, table: str, record_id: str, field: str) -> str:
        """The plaintext of ``sealed``, if it was sealed for exactly this place.

        Raises :class:`FieldCryptoError` otherwise (another record or field, a changed
        byte, an unknown key, not a sealed value).
        """
        kid, blob = _parts(sealed)
        cipher = self._keys.get(kid)
        if cipher is None:
            raise FieldCryptoError(f"sealed with unknown field key {kid!r}")
        try:
            plain = cipher.decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _place(table, record_id, field)
            )
        except InvalidTag:
            raise FieldCryptoError(
                f"{table}.{field} of record {record_id} does not open: tampered or moved"
            ) from None
        return plain.decode()

    def reseal(self, sealed: str, *, table: str, record_id: str, field: str) -> str:
        """``sealed`` under the current key (unchanged if it already is)."""
        if key_id_of(sealed) == self.current_kid:
            return sealed
        plain = self.open(sealed, table=table, record_id=record_id, field=field)
        return self.seal(plain, table=table, record_id=record_id, field=field)

    def blind_index(self, value: str, *, purpose: str) -> str:
        """A keyed digest of the normalised ``value`` for exact lookup (64 hex chars).

        ``purpose`` (e.g. ``"person.document_number"``) separates the indexes, so equal
        values in two fields do not link across them.
        """
        message = json.dumps([purpose, normalise_for_index(value)]).encode()
        return hmac.new(self._index_key, message, sha256).hexdigest()


def key_id_of(sealed: str) -> str:
    """The kid a sealed value names (without opening it)."""
    return _parts(sealed)[0]


def is_sealed(value: str) -> bool:
    """Whether ``value`` has the shape of a sealed value."""
    try:
        _parts(value)
    except FieldCryptoError:
        return False
    return True


def _parts(sealed: str) -> tuple[str, bytes]:
    version, _, rest = sealed.partition(".")
    kid, _, body = rest.partition(".")
    if version != FORMAT_VERSION or not _KID.match(kid) or not body:
        raise FieldCryptoError("not a sealed value")
    try:
        blob = _b64decode(body)
    except (binascii.Error, ValueError):
        raise FieldCryptoError("not a sealed value") from None
    if len(blob) < NONCE_BYTES + 16:
        raise FieldCryptoError("not a sealed value")
    return kid, blob


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _new_key_entry() -> dict[str, Any]:
    return {
        "kid": secrets.token_hex(6),
        "secret": _b64encode(os.urandom(KEY_BYTES)),
        "created_at": datetime.now(UTC).isoformat(),
    }


def _write_private(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    # Created 0600 before a byte is written: the keys are never world-readable.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle, indent=2)
    temporary.replace(path)


def create_key_file(path: Path) -> Path:
    """A key file with one encryption key and the index key, unless it exists. Idempotent."""
    if not path.exists():
        _write_private(
            path, {"keys": [_new_key_entry()], "index_key": _b64encode(os.urandom(KEY_BYTES))}
        )
    return path


def add_key(path: Path) -> str:
    """Add a new newest key to the file (the old ones stay, to open old values); its kid."""
    document = json.loads(path.read_text())
    entry = _new_key_entry()
    document["keys"].append(entry)
    _write_private(path, document)
    return str(entry["kid"])


def retire_key(path: Path, kid: str) -> None:
    """Remove key ``kid`` from the file, once no value is sealed with it any more."""
    document = json.loads(path.read_text())
    remaining = [key for key in document["keys"] if key["kid"] != kid]
    if len(remaining) == len(document["keys"]):
        raise ValueError(f"no field key {kid!r} in {path}")
    if not remaining:
        raise ValueError("the last field key cannot be retired")
    document["keys"] = remaining
    _write_private(path, document)
