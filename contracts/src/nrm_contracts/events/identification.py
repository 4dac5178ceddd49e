"""Events published by the identification service on ``nrm.identification``.

No names, birth dates, document numbers or other personal data travel in these events:
the case id and a pseudonymous person reference serve, with the non-identifying
attributes downstream services need (sex, age band, nationality, exploitation types,
place, needs hints, consent flags). A reader with business with the person asks
identification for more.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from nrm_contracts.registry import EventPayload
from nrm_contracts.topics import Topic

_ALPHA3 = r"^[A-Z]{3}$"
_PROVINCE = r"^[0-9]{2}$"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    TRANSGENDER = "transgender"
    OTHER = "other"
    UNKNOWN = "unknown"


class EncounterType(StrEnum):
    POLICE_OPERATION = "police_operation"
    BORDER_OR_DEPORTATION_SCREENING = "border_or_deportation_screening"
    SELF_REFERRAL = "self_referral"
    HOTLINE = "hotline"
    NGO_OUTREACH = "ngo_outreach"
    EMBASSY_OR_CONSULATE = "embassy_or_consulate"
    COMMUNITY_REPORT = "community_report"


class PresumptiveResult(StrEnum):
    """The screening's explainable presumption; never a decision."""

    PRESUMED_VICTIM = "presumed_victim"
    POSSIBLE_VICTIM_MORE_INFORMATION_NEEDED = "possible_victim_more_information_needed"
    INDICATORS_NOT_MET = "indicators_not_met"


class AgeBand(StrEnum):
    UNDER_12 = "under_12"
    FROM_12_TO_17 = "12_to_17"
    FROM_18_TO_24 = "18_to_24"
    FROM_25_TO_39 = "25_to_39"
    FROM_40_TO_59 = "40_to_59"
    FROM_60 = "60_and_over"
    UNKNOWN = "unknown"


class ExploitationType(StrEnum):
    """Aligned with IOM's Human Trafficking Case Data Standard (HTCDS) types."""

    SEXUAL_EXPLOITATION = "sexual_exploitation"
    FORCED_LABOUR = "forced_labour"
    FORCED_BEGGING = "forced_begging"
    FORCED_MARRIAGE = "forced_marriage"
    ILLEGAL_ADOPTION = "illegal_adoption"
    ORGAN_REMOVAL = "organ_removal"
    OTHER = "other"


class LabourSector(StrEnum):
    FISHING = "fishing"
    CONSTRUCTION = "construction"
    AGRICULTURE = "agriculture"
    BRICK_KILN = "brick_kiln"
    FACTORY = "factory"
    DOMESTIC_WORK = "domestic_work"
    OTHER = "other"


class NeedHint(StrEnum):
    """What the first responder saw the person needs at once (the referral assesses)."""

    SAFE_ACCOMMODATION = "safe_accommodation"
    MEDICAL = "medical"
    PSYCHOSOCIAL = "psychosocial"
    LEGAL_AID = "legal_aid"
    FAMILY_TRACING = "family_tracing"
    REPATRIATION = "repatriation"
    INTERPRETATION = "interpretation"


class ConsentPurpose(StrEnum):
    REFERRAL = "referral"
    DATA_SHARING = "data_sharing"
    REPATRIATION = "repatriation"


class ConsentPurposeV2(StrEnum):
    """Every purpose consent is recorded for: :class:`ConsentPurpose`'s and
    ``legal_proceedings`` (the person's case linked to a criminal case, its status seen
    by the investigators and prosecutors of that case). A new enum rather than a value
    added to the old one: readers of the v1 events validate enums strictly."""

    REFERRAL = "referral"
    DATA_SHARING = "data_sharing"
    REPATRIATION = "repatriation"
    LEGAL_PROCEEDINGS = "legal_proceedings"


class ConsentStatus(StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class ConsentBasis(StrEnum):
    """On what authority consent is given: an adult's own, or for a child a guardian's
    consent or a best-interest decision (children are referred without their own)."""

    OWN_CONSENT = "own_consent"
    GUARDIAN = "guardian"
    BEST_INTEREST_DECISION = "best_interest_decision"


class DecisionStage(StrEnum):
    PRELIMINARY = "preliminary"
    FINAL = "final"


class DeadlineKind(StrEnum):
    PRELIMINARY_DECISION = "preliminary_decision"
    FINAL_DECISION = "final_decision"


class ScreeningRecorded(EventPayload):
    """A first responder recorded a screening; it opened (or joined) an identification case."""

    event_type: ClassVar[str] = "kh.nrm.identification.screening.recorded.v1"
    topic: ClassVar[Topic] = Topic.IDENTIFICATION
    subject_field: ClassVar[str] = "case_id"

    case_id: UUID = Field(description="The identification case this screening belongs to.")
    screening_id: UUID
    reporting_organisation: str = Field(
        min_length=1, max_length=64, description="Organisation id of the first responder."
    )
    encounter_type: EncounterType
    sex: Sex
    is_child: bool | None = Field(
        default=None, description="Under 18 at the encounter, when the age is known or estimated."
    )
    nationality: str | None = Field(
        default=None, pattern=_ALPHA3, description="ISO 3166-1 alpha-3."
    )
    province_code: str | None = Field(
        default=None, pattern=_PROVINCE, description="Cambodian province code of the encounter."
    )
    recorded_at: datetime
    # Added compatibly (optional) with the standard screening form.
    person_ref: UUID | None = Field(
        default=None, description="Pseudonymous reference of the person (no personal data)."
    )
    presumptive_result: PresumptiveResult | None = Field(
        default=None, description="The screening's presumption; the decision is the CA's."
    )
    country_code: str | None = Field(
        default=None, pattern=_ALPHA3, description="Country of the encounter, when abroad."
    )


class VictimDecided(EventPayload):
    """What downstream services need of a person the Competent Authority decided on."""

    topic: ClassVar[Topic] = Topic.IDENTIFICATION
    subject_field: ClassVar[str] = "case_id"

    case_id: UUID
    decision_id: UUID
    person_ref: UUID = Field(description="Pseudonymous reference of the person.")
    decided_on: date
    sex: Sex
    age_band: AgeBand
    is_child: bool | None = Field(description="Under 18 at the first encounter; None if unknown.")
    nationality: str | None = Field(default=None, pattern=_ALPHA3)
    exploitation_types: list[ExploitationType] = Field(default_factory=list)
    labour_sectors: list[LabourSector] = Field(default_factory=list)
    province_code: str | None = Field(
        default=None, pattern=_PROVINCE, description="Province of the first encounter."
    )
    country_code: str | None = Field(
        default=None, pattern=_ALPHA3, description="Country of the first encounter, if abroad."
    )
    needs_hints: list[NeedHint] = Field(default_factory=list)
    consented_purposes: list[ConsentPurpose] = Field(
        default_factory=list, description="Purposes with a valid consent at the decision."
    )
    referral_consent_basis: ConsentBasis | None = Field(
        description="The basis of a valid consent to referral; None: no valid basis (yet)."
    )


class VictimPresumed(VictimDecided):
    """A positive preliminary decision (reasonable grounds): assistance and the recovery
    and reflection period begin."""

    event_type: ClassVar[str] = "kh.nrm.identification.victim.presumed.v1"

    recovery_period_ends_on: date
    final_decision_due_on: date


class VictimIdentified(VictimDecided):
    """A positive final decision (conclusive grounds)."""

    event_type: ClassVar[str] = "kh.nrm.identification.victim.identified.v1"


class VictimNotIdentified(EventPayload):
    """A negative decision, preliminary or final (a reconsideration may follow)."""

    event_type: ClassVar[str] = "kh.nrm.identification.victim.not_identified.v1"
    topic: ClassVar[Topic] = Topic.IDENTIFICATION
    subject_field: ClassVar[str] = "case_id"

    case_id: UUID
    decision_id: UUID
    person_ref: UUID
    stage: DecisionStage
    decided_on: date


class DecisionOverdue(EventPayload):
    """A decision deadline passed without the decision: escalate. Published once per
    deadline."""

    event_type: ClassVar[str] = "kh.nrm.identification.decision.overdue.v1"
    topic: ClassVar[Topic] = Topic.IDENTIFICATION
    subject_field: ClassVar[str] = "case_id"

    case_id: UUID
    deadline: DeadlineKind
    due_on: date
    detected_at: datetime


class ConsentChanged(EventPayload):
    """Consent for one purpose was given, refused or withdrawn. Downstream services
    honour a withdrawal."""

    event_type: ClassVar[str] = "kh.nrm.identification.consent.changed.v1"
    topic: ClassVar[Topic] = Topic.IDENTIFICATION
    subject_field: ClassVar[str] = "case_id"

    case_id: UUID
    consent_id: UUID
    person_ref: UUID
    purpose: ConsentPurpose
    status: ConsentStatus
    basis: ConsentBasis
    is_child: bool | None
    recorded_at: datetime


class ConsentChangedV2(EventPayload):
    """As :class:`ConsentChanged`, for every purpose of :class:`ConsentPurposeV2`.
    Published for the purposes v1 cannot carry (``legal_proceedings``); v1 stays the
    announcement of the others, which the referral service reads."""

    event_type: ClassVar[str] = "kh.nrm.identification.consent.changed.v2"
    topic: ClassVar[Topic] = Topic.IDENTIFICATION
    subject_field: ClassVar[str] = "case_id"

    case_id: UUID
    consent_id: UUID
    person_ref: UUID
    purpose: ConsentPurposeV2
    status: ConsentStatus
    basis: ConsentBasis
    is_child: bool | None
    recorded_at: datetime


class ProceedingsLinkBasis(StrEnum):
    """What a case's link to a criminal case rests on: the person's consent to
    ``legal_proceedings`` (for a child, a guardian's or a best-interest decision), or a
    legal basis MOSVY recorded instead."""

    CONSENT = "consent"
    LEGAL_BASIS = "legal_basis"


class ProceedingsCaseLinked(EventPayload):
    """An identification case was linked to a criminal case's proceedings record: its
    investigators and prosecutors see the case's status from now on. Ids only."""

    event_type: ClassVar[str] = "kh.nrm.identification.proceedings.case_linked.v1"
    topic: ClassVar[Topic] = Topic.IDENTIFICATION
    subject_field: ClassVar[str] = "case_id"

    proceedings_id: UUID
    case_id: UUID
    link_id: UUID
    basis: ProceedingsLinkBasis
    linked_at: datetime


class ProceedingsCaseUnlinked(EventPayload):
    """A case's link to a proceedings record was removed. Ids only."""

    event_type: ClassVar[str] = "kh.nrm.identification.proceedings.case_unlinked.v1"
    topic: ClassVar[Topic] = Topic.IDENTIFICATION
    subject_field: ClassVar[str] = "case_id"

    proceedings_id: UUID
    case_id: UUID
    link_id: UUID
    unlinked_at: datetime


class LinkBasis(StrEnum):
    """Why a record belongs to its person: it matched nobody known and starts a person,
    the matcher's score passed the auto-link threshold, a reviewer confirmed a candidate
    pair, or a reviewer linked it by hand (undoing an unlink)."""

    NEW_PERSON = "new_person"
    AUTOMATIC = "automatic"
    REVIEW_CONFIRMED = "review_confirmed"
    MANUAL = "manual"


class PersonLinked(EventPayload):
    """A record (a screening) now belongs to this person: the same victim met by several
    agencies counts once. Ids and the match score only, never the evidence's values."""

    event_type: ClassVar[str] = "kh.nrm.identification.person.linked.v1"
    topic: ClassVar[Topic] = Topic.IDENTIFICATION
    subject_field: ClassVar[str] = "person_id"

    person_id: UUID = Field(description="The de-duplicated person the record belongs to now.")
    screening_id: UUID = Field(description="The record linked.")
    case_id: UUID
    previous_person_id: UUID | None = Field(
        default=None, description="The person the record belonged to before (a merge)."
    )
    score: float | None = Field(
        default=None, description="The matcher's weight of evidence (log2 odds); None by hand."
    )
    basis: LinkBasis
    linked_at: datetime


class PersonUnlinked(EventPayload):
    """A record was taken out of a person (a wrong link undone); it is a person of its own
    now, ``new_person_id``."""

    event_type: ClassVar[str] = "kh.nrm.identification.person.unlinked.v1"
    topic: ClassVar[Topic] = Topic.IDENTIFICATION
    subject_field: ClassVar[str] = "person_id"

    person_id: UUID = Field(description="The person the record left.")
    screening_id: UUID
    case_id: UUID
    new_person_id: UUID
    unlinked_at: datetime


EVENTS: list[type[EventPayload]] = [
    ScreeningRecorded,
    VictimPresumed,
    VictimIdentified,
    VictimNotIdentified,
    DecisionOverdue,
    ConsentChanged,
    PersonLinked,
    PersonUnlinked,
    ConsentChangedV2,
    ProceedingsCaseLinked,
    ProceedingsCaseUnlinked,
]
