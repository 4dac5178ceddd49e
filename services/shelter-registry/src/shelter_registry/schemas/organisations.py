"""Provider organisations as the API takes and gives them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from nrm_contracts.events.shelter_registry import OrganisationKind
from nrm_runtime.http import RequestModel

OrganisationId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]


class OrganisationCreate(RequestModel):
    id: OrganisationId = Field(description="The id its staff's tokens carry.")
    name: str = Field(min_length=1, max_length=200)
    kind: OrganisationKind


class OrganisationPublic(BaseModel):
    id: str
    name: str
    kind: OrganisationKind
    created_at: datetime
