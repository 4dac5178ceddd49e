"""The person's identifying fields and the free text about them (a screening's notes, a
decision's grounds), sealed at rest and opened in memory.

Each value is sealed for its place (table, the row's id, the column) so that a value
copied to another row does not open. The non-punishment check finds a
name by keyed digests (:func:`name_digests`), never by reading names in clear.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from identification.store import Decision, IdentityDocument, Screening
from nrm_runtime.field_crypto import KeyRing

NAME_KEY_PURPOSE = "screening.full_name"
DOCUMENT_PURPOSE = "identity_document.number"
_SCREENING = "screening"
_DOCUMENT = "identity_document"
_DECISION = "decision"


@dataclass(frozen=True)
class PersonNames:
    """The person's identifying fields as one screening gives them (plaintext, in memory)."""

    given_name: str | None = None
    family_name: str | None = None
    given_name_khmer: str | None = None
    family_name_khmer: str | None = None
    aliases: list[str] = field(default_factory=list)
    birth_date: date | None = None


def seal_person(ring: KeyRing, screening: Screening, person: PersonNames) -> None:
    """Write the sealed columns of ``screening`` (its id must be set)."""
    record_id = str(screening.id)

    def seal(value: str | None, column: str) -> str | None:
        if value is None:
            return None
        return ring.seal(value, table=_SCREENING, record_id=record_id, field=column)

    screening.given_name_sealed = seal(person.given_name, "given_name_sealed")
    screening.family_name_sealed = seal(person.family_name, "family_name_sealed")
    screening.given_name_khmer_sealed = seal(person.given_name_khmer, "given_name_khmer_sealed")
    screening.family_name_khmer_sealed = seal(person.family_name_khmer, "family_name_khmer_sealed")
    screening.aliases_sealed = seal(
        json.dumps(person.aliases, ensure_ascii=False) if person.aliases else None,
        "aliases_sealed",
    )
    screening.birth_date_sealed = seal(
        person.birth_date.isoformat() if person.birth_date else None, "birth_date_sealed"
    )


def open_person(ring: KeyRing, screening: Screening) -> PersonNames:
    """The screening's identifying fields, opened (the caller audits the read)."""
    record_id = str(screening.id)

    def opened(sealed: str | None, column: str) -> str | None:
        if sealed is None:
            return None
        return ring.open(sealed, table=_SCREENING, record_id=record_id, field=column)

    aliases = opened(screening.aliases_sealed, "aliases_sealed")
    birth = opened(screening.birth_date_sealed, "birth_date_sealed")
    return PersonNames(
        given_name=opened(screening.given_name_sealed, "given_name_sealed"),
        family_name=opened(screening.family_name_sealed, "family_name_sealed"),
        given_name_khmer=opened(screening.given_name_khmer_sealed, "given_name_khmer_sealed"),
        family_name_khmer=opened(screening.family_name_khmer_sealed, "family_name_khmer_sealed"),
        aliases=list(json.loads(aliases)) if aliases else [],
        birth_date=date.fromisoformat(birth) if birth else None,
    )


@dataclass(frozen=True)
class ScreeningNotes:
    """The screening's free-text notes per Palermo element (plaintext, in memory)."""

    act_notes: str | None = None
    means_notes: str | None = None
    purpose_notes: str | None = None


def seal_notes(ring: KeyRing, screening: Screening, notes: ScreeningNotes) -> None:
    """Write the sealed note columns of ``screening`` (its id must be set)."""
    record_id = str(screening.id)

    def seal(value: str | None, column: str) -> str | None:
        if value is None:
            return None
        return ring.seal(value, table=_SCREENING, record_id=record_id, field=column)

    screening.act_notes_sealed = seal(notes.act_notes, "act_notes_sealed")
    screening.means_notes_sealed = seal(notes.means_notes, "means_notes_sealed")
    screening.purpose_notes_sealed = seal(notes.purpose_notes, "purpose_notes_sealed")


def open_notes(ring: KeyRing, screening: Screening) -> ScreeningNotes:
    """The screening's notes, opened (the caller audits the read)."""
    record_id = str(screening.id)

    def opened(sealed: str | None, column: str) -> str | None:
        if sealed is None:
            return None
        return ring.open(sealed, table=_SCREENING, record_id=record_id, field=column)

    return ScreeningNotes(
        act_notes=opened(screening.act_notes_sealed, "act_notes_sealed"),
        means_notes=opened(screening.means_notes_sealed, "means_notes_sealed"),
        purpose_notes=opened(screening.purpose_notes_sealed, "purpose_notes_sealed"),
    )


def seal_rationale(ring: KeyRing, decision: Decision, rationale: str) -> None:
    """Seal a decision's grounds (its id must be set)."""
    decision.rationale_sealed = ring.seal(
        rationale, table=_DECISION, record_id=str(decision.id), field="rationale_sealed"
    )


def open_rationale(ring: KeyRing, decision: Decision) -> str:
    """A decision's grounds, opened (the caller audits the read)."""
    return ring.open(
        decision.rationale_sealed,
        table=_DECISION,
        record_id=str(decision.id),
        field="rationale_sealed",
    )


def seal_document_number(ring: KeyRing, document: IdentityDocument, number: str | None) -> None:
    """Seal the document's number, with a digest for exact lookup."""
    if number is None:
        document.number_sealed = document.number_digest = None
        return
    document.number_sealed = ring.seal(
        number, table=_DOCUMENT, record_id=str(document.id), field="number_sealed"
    )
    document.number_digest = ring.blind_index(number, purpose=DOCUMENT_PURPOSE)


def open_document_number(ring: KeyRing, document: IdentityDocument) -> str | None:
    if document.number_sealed is None:
        return None
    return ring.open(
        document.number_sealed, table=_DOCUMENT, record_id=str(document.id), field="number_sealed"
    )


def normalised_name(name: str) -> str:
    """Lower case, single spaces, no diacritics (Khmer script is left as written):
    "Nguyễn Thị Lan" is "nguyen thi lan"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch) or _is_khmer(ch))
    return " ".join(unicodedata.normalize("NFC", kept.replace("đ", "d")).split())


def _is_khmer(character: str) -> bool:
    return "\u1780" <= character <= "\u17ff"


def full_name_digests(ring: KeyRing, given: str, family: str) -> set[str]:
    """The digests of a full name in either order (family name first or last)."""
    first, second = normalised_name(given), normalised_name(family)
    return {
        ring.blind_index(f"{a}|{b}", purpose=NAME_KEY_PURPOSE)
        for a, b in ((first, second), (second, first))
    }


def name_digests(ring: KeyRing, person: PersonNames) -> set[str]:
    """Every full-name digest of the screening: Latin letters and Khmer script."""
    pairs: Iterable[tuple[str | None, str | None]] = (
        (person.given_name, person.family_name),
        (person.given_name_khmer, person.family_name_khmer),
    )
    return {
        digest
        for given, family in pairs
        if given and family
        for digest in full_name_digests(ring, given, family)
    }
