"""Signed tree heads of an audit log: what is signed, by which key, and its check.

A head says "the log ``log_id`` held ``tree_size`` entries whose Merkle root is
``root_hash`` at ``timestamp_ms``". The signed bytes are RFC 9162's TreeHeadDataV2
(§4.10), TLS-encoded, with the log's id as an extension (type 0x4e52), so that a head of
one service's log never passes for another's, even under one key. The signature is
Ed25519 (RFC 8032).

The key is a PKCS#8 PEM file (``audit_signing_key_file``); in development and tests it is
made on first use beside the other dev keys, in production it must exist.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

LOG_ID_EXTENSION = 0x4E52  # "NR"


@dataclass(frozen=True)
class TreeHead:
    """A log's size and root at a moment."""

    log_id: str
    tree_size: int
    root_hash: bytes
    timestamp_ms: int

    def signed_data(self) -> bytes:
        """TreeHeadDataV2, TLS-encoded: uint64 timestamp, uint64 tree_size, opaque
        root_hash<32..2^8-1>, Extension sth_extensions<0..2^16-1>."""
        log_id = self.log_id.encode()
        extension = struct.pack(">HH", LOG_ID_EXTENSION, len(log_id)) + log_id
        return (
            struct.pack(">QQB", self.timestamp_ms, self.tree_size, len(self.root_hash))
            + self.root_hash
            + struct.pack(">H", len(extension))
            + extension
        )


@dataclass(frozen=True)
class SignedTreeHead:
    """A head with its signature and the key that made it."""

    head: TreeHead
    signature: bytes
    public_key: bytes

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def verify(self, trusted_key: bytes | None = None) -> bool:
        """Whether the signature is the key's (``trusted_key`` when given, which the head's
        own key must then be: a head signed by another key is not the log's)."""
        if trusted_key is not None and trusted_key != self.public_key:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                self.signature, self.head.signed_data()
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def as_fields(self) -> dict[str, object]:
        """The fields of the published event (and of a line of a heads file)."""
        return {
            "log_id": self.head.log_id,
            "tree_size": self.head.tree_size,
            "root_hash": self.head.root_hash.hex(),
            "timestamp_ms": self.head.timestamp_ms,
            "signature": base64.b64encode(self.signature).decode(),
            "key_id": self.key_id,
            "public_key": base64.b64encode(self.public_key).decode(),
        }

    @classmethod
    def of_fields(cls, fields: dict[str, object]) -> SignedTreeHead:
        """The head of an event's data or a heads file's line; ``ValueError`` if malformed."""
        try:
            head = TreeHead(
                log_id=str(fields["log_id"]),
                tree_size=int(str(fields["tree_size"])),
                root_hash=bytes.fromhex(str(fields["root_hash"])),
                timestamp_ms=int(str(fields["timestamp_ms"])),
            )
            return cls(
                head,
                base64.b64decode(str(fields["signature"]), validate=True),
                base64.b64decode(str(fields["public_key"]), validate=True),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a signed tree head: {error}") from error


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()


class HeadSigner:
    """Signs a log's tree heads with its Ed25519 key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def load(cls, path: Path, *, create: bool = False) -> HeadSigner:
        """The key in ``path``; made there first when ``create`` and it does not exist."""
        if create and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            # Created readable by its owner only, never world-readable for a moment.
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process of the service made it first
            else:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return cls(key)

    @classmethod
    def ephemeral(cls) -> HeadSigner:
        """A key of this process only (tests without a key file)."""
        return cls(Ed25519PrivateKey.generate())

    def sign(self, head: TreeHead) -> SignedTreeHead:
        return SignedTreeHead(head, self._key.sign(head.signed_data()), self.public_key)
