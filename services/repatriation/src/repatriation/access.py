"""Who may do what: the officers of the Cambodian repatriation authorities (setting
``repatriation_authorities``: MOSVY and MOFAIC) run the Cambodian side of every case;
another ministry's officers see none; a counterpart agency sees and acts on its own
country's cases only, and signs its calls.

A counterpart asking for another country's case is answered 404, exactly as for a case
that does not exist: it must not learn that the case exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from nrm_runtime.auth import OrganisationType, Principal, Role, require_roles
from nrm_runtime.errors import ProblemError
from repatriation.context import Repatriation, RepatriationDep
from repatriation.domain.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

OFFICER_ROLES = (Role.CASE_MANAGER, Role.LIAISON_OFFICER)


def _authority(principal: Principal, context: Repatriation) -> Principal:
    # A ministry without a part in returns (Justice, Women's Affairs ...) has no business
    # with the whereabouts and travel of every returning person.
    if (
        principal.organisation_type is not OrganisationType.MINISTRY
        or principal.organisation not in context.settings.repatriation_authorities
    ):
        raise ProblemError(
            403, "forbidden", "only the Cambodian repatriation authorities run repatriation cases"
        )
    return principal


async def _officer(
    principal: Annotated[Principal, require_roles(*OFFICER_ROLES)], context: RepatriationDep
) -> Principal:
    return _authority(principal, context)


async def _case_manager(
    principal: Annotated[Principal, require_roles(Role.CASE_MANAGER)], context: RepatriationDep
) -> Principal:
    return _authority(principal, context)


Officer = Annotated[Principal, Depends(_officer)]
"""A case manager or liaison officer of a Cambodian repatriation authority (MOSVY, MOFAIC)."""

CaseManager = Annotated[Principal, Depends(_case_manager)]
"""A repatriation authority's case manager: opens, closes, records consent."""


@dataclass(frozen=True)
class Counterpart:
    """A counterpart agency's authenticated, signed call."""

    principal: Principal
    country: str
    body: bytes

    @property
    def organisation(self) -> str:
        return self.principal.organisation


async def _counterpart(
    request: Request,
    principal: Annotated[Principal, require_roles(Role.LIAISON_OFFICER)],
    context: RepatriationDep,
    timestamp: Annotated[
        str | None, Header(alias=TIMESTAMP_HEADER, description="Unix seconds of signing.")
    ] = None,
    signature: Annotated[
        str | None,
        Header(
            alias=SIGNATURE_HEADER, description='"v1=" + hex HMAC-SHA256("<timestamp>." + body)'
        ),
    ] = None,
) -> Counterpart:
    if principal.organisation_type is not OrganisationType.FOREIGN_AGENCY:
        raise ProblemError(403, "forbidden", "the liaison API is for counterpart agencies")
    country = context.settings.country_of(principal.organisation)
    link = context.settings.counterparts.get(country) if country else None
    if country is None or link is None:
        raise ProblemError(403, "forbidden", "your organisation is not a registered counterpart")
    body = await request.body()
    problem = verify(
        link.secret.get_secret_value(),
        timestamp=timestamp,
        given=signature,
        body=body,
        now=time.time(),
        tolerance_seconds=context.settings.signature_tolerance_seconds,
    )
    if problem is not None:
        raise ProblemError(401, "invalid_signature", problem)
    return Counterpart(principal, country, body)


CounterpartCaller = Annotated[Counterpart, Depends(_counterpart)]
