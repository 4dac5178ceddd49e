"""The screening as the API takes it and gives it: never the table model itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from identification.domain import latest_possible_today
from nrm_contracts.events.identification import EncounterType, Sex
from nrm_runtime.http import IsoDate, RequestModel, invalid_field


class PersonIn(RequestModel):
    given_name: str = Field(min_length=1, max_length=200, description="Given name in Latin letters")
    family_name: str = Field(
        min_length=1, max_length=200, description="Family name in Latin letters"
    )
    given_name_khmer: str | None = Field(default=None, max_length=200)
    family_name_khmer: str | None = Field(default=None, max_length=200)
    sex: Sex
    birth_date: IsoDate | None = None
    estimated_age: StrictInt | None = Field(default=None, ge=0, le=120)
    nationality: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3"
    )

    @model_validator(mode="after")
    def _birth_date_not_in_future(self) -> Self:
        if self.birth_date is not None and self.birth_date > latest_possible_today():
            raise invalid_field("person.birth_date", "the birth date is in the future")
        return self


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
    province_code: str | None = Field(
        default=None, pattern=r"^[0-9]{2}$", description="Cambodian province code, when in Cambodia"
    )
    country_code: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="Country, when abroad (ISO 3166-1 alpha-3)"
    )

    @model_validator(mode="after")
    def _one_place(self) -> Self:
        if (self.province_code is None) == (self.country_code is None):
            raise ValueError(
                "give exactly one of province_code (in Cambodia) or country_code (abroad)"
            )
        return self


class ScreeningCreate(RequestModel):
    """A first responder's screening (minimal form; the full standard form comes next)."""

    person: PersonIn
    encounter: EncounterIn

    @model_validator(mode="after")
    def _encounter_dated_plausibly(self) -> Self:
        if self.encounter.date > latest_possible_today():
            raise invalid_field("encounter.date", "the encounter date is in the future")
        if self.person.birth_date is not None and self.encounter.date < self.person.birth_date:
            raise invalid_field("encounter.date", "the encounter date is before the birth date")
        return self


class ScreeningPublic(BaseModel):
    """A screening as its reporting organisation and the Competent Authority see it."""

    id: UUID
    case_id: UUID
    reporting_organisation: str
    person: PersonIn
    encounter: EncounterIn
    is_child: bool | None
    recorded_at: datetime
