"""What a counterpart agency sends to open an inbound case."""

from __future__ import annotations

from pydantic import Field

from nrm_runtime.http import RequestModel
from repatriation.schemas.cases import Code, ConsentIn, PersonIn


class InboundNotification(RequestModel):
    """A counterpart agency notifies a presumed Cambodian victim it wants to return."""

    counterpart_reference: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._/-]+$",
        description="The counterpart's own case number.",
    )
    sop_version: str | None = Field(default=None, max_length=32)
    person: PersonIn
    consent_to_return: ConsentIn
    documents: list[Code] = Field(default_factory=list, max_length=20)
