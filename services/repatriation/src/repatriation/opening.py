"""Opening a repatriation case: which SOP it runs, who the person is (child or adult),
the consent to return, and the first clocks."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from nrm_contracts.events.identification import Sex
from nrm_contracts.events.repatriation import CaseOrigin, Direction, RepatriationProposed
from nrm_runtime.clock import cambodian_date
from nrm_runtime.database import UnitOfWork
from nrm_runtime.errors import ProblemError
from repatriation import domain
from repatriation.context import Repatriation
from repatriation.deadlines import start_clocks
from repatriation.domain import ConsentStatus
from repatriation.models import ConsentIn, PersonIn
from repatriation.privacy import seal_person
from repatriation.sop import Procedure, SopStatus, SopTemplate
from repatriation.store import RepatriationCase


def choose_template(
    context: Repatriation, country: str, direction: Direction, version: str | None, on: date
) -> tuple[SopTemplate, Procedure]:
    """The SOP a new case runs: the named version, or the one in force with ``country``."""
    if version is None:
        template = context.library.current(country, direction, on)
        if template is None:
            drafts = [t.version for t in context.library.for_country(country)]
            hint = f" (drafts: {', '.join(drafts)}; name one as sop_version)" if drafts else ""
            raise ProblemError(
                409,
                "no_sop",
                f"no SOP in force with {country} for {direction} cases{hint}",
                "counterpart_country",
            )
    else:
        candidates = [t for t in context.library.for_country(country) if t.version == version]
        if not candidates or candidates[0].status is SopStatus.SUPERSEDED:
            raise ProblemError(
                422,
                "invalid_input",
                f"no usable SOP version {version!r} with {country}",
                "sop_version",
            )
        template = candidates[0]
    procedure = template.procedure(direction)
    if procedure is None:
        raise ProblemError(
            409,
            "no_sop",
            f"SOP {template.id} {template.version} has no {direction} procedure",
            "counterpart_country",
        )
    return template, procedure


def procedure_of(context: Repatriation, case: RepatriationCase) -> tuple[SopTemplate, Procedure]:
    """The procedure a case runs: its own SOP version, for good."""
    template = context.library.get(case.sop_id, case.sop_version)
    procedure = template.procedure(Direction(case.direction)) if template else None
    if template is None or procedure is None:
        # The template was removed from the deployment: the case cannot move until it is back.
        raise ProblemError(
            409, "sop_unavailable", f"SOP {case.sop_id} {case.sop_version} is not loaded"
        )
    return template, procedure


def is_child(person: PersonIn, on: date) -> bool:
    if person.birth_date is not None:
        birthday_passed = (on.month, on.day) >= (person.birth_date.month, person.birth_date.day)
        return on.year - person.birth_date.year - (0 if birthday_passed else 1) < 18
    return person.estimated_age is not None and person.estimated_age < 18


def _check_consent(consent: ConsentIn, child: bool) -> None:
    if consent.status is not ConsentStatus.GIVEN:
        raise ProblemError(
            422,
            "invalid_input",
            "a repatriation needs the consent to return",
            "consent_to_return.status",
        )
    problem = domain.consent_basis_problem(child, consent.basis)
    if problem is not None:
        raise ProblemError(422, "invalid_input", problem, "consent_to_return.basis")


def new_case(
    context: Repatriation,
    *,
    direction: Direction,
    country: str,
    template: SopTemplate,
    origin: CaseOrigin,
    opened_by: str,
    person: PersonIn,
    consent: ConsentIn,
    identification_case_id: UUID | None = None,
    counterpart_reference: str | None = None,
) -> RepatriationCase:
    """A case, not yet stored; 422 without a valid consent to return."""
    now = context.clock()
    child = is_child(person, cambodian_date(now))
    _check_consent(consent, child)
    case = RepatriationCase(
        direction=direction,
        counterpart_country=country,
        sop_id=template.id,
        sop_version=template.version,
        origin=origin,
        identification_case_id=identification_case_id,
        counterpart_reference=counterpart_reference,
        opened_by=opened_by,
        given_name="",
        family_name="",
        sex=person.sex,
        estimated_age=person.estimated_age,
        is_child=child,
        consent_status=consent.status,
        consent_basis=consent.basis,
        consent_recorded_on=consent.recorded_on,
        opened_at=now,
        updated_at=now,
    )
    seal_person(
        context.keys,
        case,
        given_name=person.given_name,
        family_name=person.family_name,
        birth=person.birth_date,
    )
    return case


def open_case(
    context: Repatriation, uow: UnitOfWork, case: RepatriationCase, procedure: Procedure
) -> None:
    """Store a new case, start the clocks of its first steps, announce it."""
    uow.session.add(case)
    start_clocks(context, uow, case, procedure, case.opened_at)
    uow.record(
        RepatriationProposed(
            repatriation_case_id=case.id,
            direction=Direction(case.direction),
            counterpart_country=case.counterpart_country,
            sop_id=case.sop_id,
            sop_version=case.sop_version,
            origin=CaseOrigin(case.origin),
            identification_case_id=case.identification_case_id,
            sex=Sex(case.sex),
            is_child=case.is_child,
            proposed_at=case.opened_at,
        )
    )
