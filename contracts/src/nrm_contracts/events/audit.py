"""Signed tree heads of the services' audit logs, each on its service's audit topic.

Every service keeps a verifiable audit log (RFC 9162, as Certificate Transparency does):
its entries are the leaves of a Merkle tree, and each time the log grows the service
signs the tree's head (its size and root hash) with its Ed25519 key and publishes it
here. Whoever keeps these events can later prove that the log they were taken from still
holds every entry it held then (a consistency proof, ``nrm audit verify``): a database
rewritten as a whole is detected by anyone holding an earlier head.

A head carries hashes and counts only: no entry, no id, nothing about a person. The
subject and key is the log's id (the service name), so one log's heads stay in order.
They travel on a topic of their own beside the service's, ``nrm.<service>.audit``
(:func:`audit_topic`), written by that service only: the readers of the service's events
never see them, and whoever keeps the heads reads nothing else.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from nrm_contracts.registry import EventPayload
from nrm_contracts.topics import Topic

AUDIT_CHANNEL = "nrm.{service}.audit"
_HEX_HASH = r"^[0-9a-f]{64}$"
_BASE64 = r"^[A-Za-z0-9+/]+={0,2}$"


class AuditTreeHeadSigned(EventPayload):
    """A signed tree head of a service's audit log (RFC 9162 §4.10, TreeHeadDataV2)."""

    subject_field: ClassVar[str] = "log_id"
    channel: ClassVar[str | None] = AUDIT_CHANNEL

    log_id: str = Field(
        pattern=r"^[a-z][a-z0-9-]{0,63}$", description="The log: the service that keeps it."
    )
    tree_size: int = Field(ge=0, description="How many entries the tree holds.")
    root_hash: str = Field(pattern=_HEX_HASH, description="The tree's root hash (SHA-256).")
    timestamp_ms: int = Field(ge=0, description="When the head was signed, ms since the epoch.")
    signature: str = Field(
        pattern=_BASE64,
        description="Ed25519 signature of the TLS-encoded TreeHeadDataV2 (timestamp, "
        "tree_size, root_hash, and the log id as the extension 0x4e52), base64.",
    )
    key_id: str = Field(pattern=_HEX_HASH, description="SHA-256 of the raw public key.")
    public_key: str = Field(
        pattern=_BASE64, description="The raw Ed25519 public key, base64 (check its key_id)."
    )


class IdentificationAuditTreeHead(AuditTreeHeadSigned):
    event_type: ClassVar[str] = "kh.nrm.identification.audit.tree_head_signed.v1"
    topic: ClassVar[Topic] = Topic.IDENTIFICATION


class ReferralAuditTreeHead(AuditTreeHeadSigned):
    event_type: ClassVar[str] = "kh.nrm.referral.audit.tree_head_signed.v1"
    topic: ClassVar[Topic] = Topic.REFERRAL


class ShelterRegistryAuditTreeHead(AuditTreeHeadSigned):
    event_type: ClassVar[str] = "kh.nrm.shelter_registry.audit.tree_head_signed.v1"
    topic: ClassVar[Topic] = Topic.SHELTER_REGISTRY


class RepatriationAuditTreeHead(AuditTreeHeadSigned):
    event_type: ClassVar[str] = "kh.nrm.repatriation.audit.tree_head_signed.v1"
    topic: ClassVar[Topic] = Topic.REPATRIATION


TREE_HEADS: dict[Topic, type[AuditTreeHeadSigned]] = {
    event.topic: event
    for event in (
        IdentificationAuditTreeHead,
        ReferralAuditTreeHead,
        ShelterRegistryAuditTreeHead,
        RepatriationAuditTreeHead,
    )
}
"""The tree head event of each service, by the topic it owns (its heads go to audit_topic)."""

EVENTS: list[type[EventPayload]] = list(TREE_HEADS.values())


def audit_topic(topic: Topic) -> str:
    """Where the service owning ``topic`` publishes its audit log's heads."""
    return f"{topic.value}.audit"
