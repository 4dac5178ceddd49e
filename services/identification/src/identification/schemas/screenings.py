"""The screening form as the API takes it (request models: strict, validating) and gives
it back (response models: plain, never re-validating stored rows with request rules)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, model_validator

from identification.domain import ages
from identification.domain.ages import BirthDatePrecision
from identification.domain.indicators import Act, ContinuumPosition, Means, Purpose
from nrm_contracts.events.identification import (
    AgeBand,
    ConsentBasis,
    ConsentPurpose,
    EncounterType,
    LabourSector,
    NeedHint,
    PresumptiveResult,
    Sex,
)
from nrm_runtime.http import INTEGRAL_FLOAT, IsoDate, RequestModel, invalid_field
from nrm_runtime.reference_codes import is_province_code, province_enum
from nrm_runtime.text import NamePart

Name = Annotated[NamePart, Field(max_length=200)]
Alpha3 = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}$", description="ISO 639 code")]
Notes = Annotated[str, Field(max_length=4000)]


def _known_province(code: str) -> str:
    if not is_province_code(code):
        raise ValueError(f"unknown Cambodian province code {code!r}")
    return code


ProvinceCode = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{2}$",
        json_schema_extra=province_enum,
        description="Cambodian province code (01-25)",
    ),
    AfterValidator(_known_province),
]


class DocumentKind(StrEnum):
    PASSPORT = "passport"
    NATIONAL_ID = "national_id"
    BIRTH_CERTIFICATE = "birth_certificate"
    FAMILY_BOOK = "family_book"
    WORK_PERMIT = "work_permit"
    OTHER = "other"


class DocumentStatus(StrEnum):
    HELD = "held"
    CONFISCATED = "confiscated"
    LOST = "lost"


class IdentityDocumentIn(RequestModel):
    kind: DocumentKind
    status: DocumentStatus
    issuing_country: Alpha3 | None = None
    number: str | None = Field(default=None, min_length=1, max_length=100)


class PersonIn(RequestModel):
    given_name: Name | None = Field(
        default=None, description="Given name in Latin letters (optional with a Khmer name)"
    )
    family_name: Name | None = Field(
        default=None, description="Family name in Latin letters (optional with a Khmer name)"
    )
    given_name_khmer: Name | None = None
    family_name_khmer: Name | None = None
    aliases: list[Name] = Field(default_factory=list, max_length=20)
    sex: Sex
    birth_date: IsoDate | None = None
    birth_date_precision: BirthDatePrecision | None = Field(
        default=None, description="How much of birth_date is known (day when omitted)"
    )
    # 30.0 is an integer to the schema too; bounds before INTEGRAL_FLOAT (nrm_runtime.http).
    estimated_age: Annotated[StrictInt, Field(ge=0, le=120), INTEGRAL_FLOAT] | None = None
    nationality: Alpha3 | None = None
    languages: list[Language] = Field(default_factory=list, max_length=10)
    identity_documents: list[IdentityDocumentIn] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _a_name_in_latin_letters_or_khmer_script(self) -> Self:
        # A police form may be written in Khmer script only; otherwise the Latin name.
        if self.given_name_khmer and self.family_name_khmer:
            return self
        for name in ("given_name", "family_name"):
            if getattr(self, name) is None:
                raise invalid_field(
                    f"person.{name}", "a name in Latin letters, or both names in Khmer script"
                )
        return self

    @model_validator(mode="after")
    def _birth_date_rules(self) -> Self:
        if self.birth_date is not None and self.birth_date > ages.latest_possible_today():
            raise invalid_field("person.birth_date", "the birth date is in the future")
        precision = self.birth_date_precision
        if precision is not None and (
            self.birth_date is None or precision is BirthDatePrecision.ESTIMATED_AGE
        ):
            raise invalid_field(
                "person.birth_date_precision",
                "a precision of day, month or year goes with a birth date",
            )
        return self

    @property
    def precision(self) -> BirthDatePrecision:
        if self.birth_date is None:
            return BirthDatePrecision.ESTIMATED_AGE
        return self.birth_date_precision or BirthDatePrecision.DAY


def _exactly_one_place(schema: dict[str, Any]) -> None:
    # The rule "province in Cambodia, or a country abroad, never both" stated in the
    # schema too, so that generated clients and API fuzzers know it.
    schema["oneOf"] = [
        {
            "required": [present],
            "properties": {present: {"type": "string"}, absent: {"type": "null"}},
        }
        for present, absent in (
            ("province_code", "country_code"),
            ("country_code", "province_code"),
        )
    ]


class EncounterIn(RequestModel):
    model_config = ConfigDict(json_schema_extra=_exactly_one_place)

    type: EncounterType
    date: IsoDate
    province_code: ProvinceCode | None = None
    district_code: str | None = Field(
        default=None, pattern=r"^[0-9]{4}$", description="District code, within the province"
    )
    country_code: Alpha3 | None = Field(default=None, description="Country, when abroad")

    @model_validator(mode="after")
    def _one_place(self) -> Self:
        if (self.province_code is None) == (self.country_code is None):
            raise ValueError(
                "give exactly one of province_code (in Cambodia) or country_code (abroad)"
            )
        if self.country_code == "KHM":
            raise invalid_field("encounter.country_code", "in Cambodia, give the province_code")
        if self.district_code is not None and (
            self.province_code is None or not self.district_code.startswith(self.province_code)
        ):
            raise invalid_field(
                "encounter.district_code", "the district code must lie in the province given"
            )
        return self


class IndicatorsIn(RequestModel):
    """Indicators by Palermo element, as enumerations plus notes."""

    acts: list[Act] = Field(default_factory=list)
    act_notes: Notes | None = None
    means: list[Means] = Field(default_factory=list)
    means_notes: Notes | None = None
    purposes: list[Purpose] = Field(default_factory=list)
    labour_sectors: list[LabourSector] = Field(
        default_factory=list, description="With the purpose forced_labour"
    )
    purpose_notes: Notes | None = None
    continuum_position: ContinuumPosition | None = None
    person_consented: bool | None = Field(
        default=None, description="The person agreed to the travel or work"
    )
    exploitation_country_code: Alpha3 | None = None
    exploitation_province_code: ProvinceCode | None = None

    @model_validator(mode="after")
    def _sectors_need_forced_labour(self) -> Self:
        if self.labour_sectors and Purpose.FORCED_LABOUR not in self.purposes:
            raise invalid_field(
                "indicators.labour_sectors", "labour sectors go with the purpose forced_labour"
            )
        return self


class ScreeningConsentIn(RequestModel):
    purpose: ConsentPurpose
    given: bool = Field(description="True: given; false: refused")
    basis: ConsentBasis


class ScreeningCreate(RequestModel):
    """A first responder's screening: the standard form."""

    case_id: UUID | None = Field(
        default=None, description="Join an existing case of yours (a later screening)"
    )
    person: PersonIn
    encounter: EncounterIn
    indicators: IndicatorsIn = Field(default_factory=IndicatorsIn)
    needs_hints: list[NeedHint] = Field(default_factory=list)
    consents: list[ScreeningConsentIn] = Field(default_factory=list, max_length=3)

    @model_validator(mode="after")
    def _plausible_as_a_whole(self) -> Self:
        person, encounter = self.person, self.encounter
        if encounter.date > ages.latest_possible_today():
            raise invalid_field("encounter.date", "the encounter date is in the future")
        if person.birth_date is not None and encounter.date < person.birth_date:
            raise invalid_field("encounter.date", "the encounter date is before the birth date")
        if (
            person.birth_date is not None
            and person.estimated_age is not None
            and ages.contradicts(
                birth_date=person.birth_date,
                precision=person.precision,
                estimate=person.estimated_age,
                on=encounter.date,
            )
        ):
            raise invalid_field(
                "person.estimated_age", "the estimated age contradicts the birth date"
            )
        purposes = [consent.purpose for consent in self.consents]
        if len(set(purposes)) != len(purposes):
            raise invalid_field("consents", "one consent per purpose")
        child = ages.is_child(self.age())
        for index, consent in enumerate(self.consents):
            problem = basis_problem(consent.basis, child)
            if problem:
                raise invalid_field(f"consents.{index}.basis", problem)
        return self

    def age(self) -> int | None:
        """The person's (youngest possible) age at the encounter."""
        return ages.age_at(
            birth_date=self.person.birth_date,
            precision=self.person.precision,
            estimated_age=self.person.estimated_age,
            on=self.encounter.date,
        )


def basis_problem(basis: ConsentBasis, child: bool | None) -> str | None:
    """Why ``basis`` is not valid for this person, or None (children: guardian or a
    best-interest decision; adults: their own consent)."""
    if child is True and basis is ConsentBasis.OWN_CONSENT:
        return "a child's consent rests on a guardian or a best-interest decision"
    if child is False and basis is not ConsentBasis.OWN_CONSENT:
        return "an adult gives their own consent"
    return None


class IdentityDocumentPublic(BaseModel):
    kind: DocumentKind
    status: DocumentStatus
    issuing_country: str | None
    number: str | None


class PersonPublic(BaseModel):
    given_name: str | None
    family_name: str | None
    given_name_khmer: str | None
    family_name_khmer: str | None
    aliases: list[str]
    sex: Sex
    birth_date: date | None
    birth_date_precision: BirthDatePrecision
    estimated_age: int | None
    nationality: str | None
    languages: list[str]
    identity_documents: list[IdentityDocumentPublic]


class EncounterPublic(BaseModel):
    type: EncounterType
    date: date
    province_code: str | None
    district_code: str | None
    country_code: str | None


class IndicatorsPublic(BaseModel):
    acts: list[Act]
    act_notes: str | None
    means: list[Means]
    means_notes: str | None
    purposes: list[Purpose]
    labour_sectors: list[LabourSector]
    purpose_notes: str | None
    continuum_position: ContinuumPosition | None
    person_consented: bool | None
    exploitation_country_code: str | None
    exploitation_province_code: str | None


class ElementFindingPublic(BaseModel):
    met: bool
    required: bool
    answers: list[str]
    explanation: str


class AssessmentPublic(BaseModel):
    """The screening's presumption and why; never a decision."""

    result: PresumptiveResult
    act: ElementFindingPublic
    means: ElementFindingPublic
    purpose: ElementFindingPublic
    child_rule: str
    child_rule_applies: bool = Field(
        description="True when the person was under 18 at the encounter: no means is required"
    )
    consent: str | None
    summary: str


class ScreeningPublic(BaseModel):
    """A screening as its reporting organisation and the Competent Authority see it."""

    id: UUID
    case_id: UUID
    reporting_organisation: str
    person: PersonPublic
    encounter: EncounterPublic
    indicators: IndicatorsPublic
    needs_hints: list[NeedHint]
    is_child: bool | None
    age_band: AgeBand
    presumptive_assessment: AssessmentPublic | None
    recorded_at: datetime
