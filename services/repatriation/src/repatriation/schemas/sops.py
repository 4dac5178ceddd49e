"""The bilateral procedures loaded and the border points they hand over at."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from nrm_contracts.events.repatriation import Direction


class BorderPointPublic(BaseModel):
    code: str = Field(description="The code a handover's `border_point` detail takes")
    name: str
    province_code: str = Field(description="The Cambodian side's province")
    counterpart_country: str = Field(description="ISO 3166-1 alpha-3")
    reception_organisation: str | None = Field(description="Who receives returnees here by default")
    sops: list[str] = Field(description="The procedures (`id@version`) that name it")


class SopSummary(BaseModel):
    id: str
    version: str
    title: str
    counterpart_country: str
    status: str
    effective_from: date | None
    directions: list[Direction]
