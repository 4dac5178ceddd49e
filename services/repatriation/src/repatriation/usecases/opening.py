"""Opening a repatriation case: which SOP it runs, who the person is (child or adult),
the consent to return, and the first clocks. An officer opens an outbound case; a
counterpart's notification opens an inbound one (a message, received once)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from nrm_contracts.events.identification import Sex
from nrm_contracts.events.repatriation import CaseOrigin, Direction, RepatriationProposed
from nrm_runtime.audit import AuditAction
from nrm_runtime.auth import Principal
from nrm_runtime.clock import cambodian_date
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, Invalid
from repatriation.access import Counterpart
from repatriation.context import Repatriation
from repatriation.domain import rules
from repatriation.domain.rules import ConsentStatus, Submission
from repatriation.domain.sop import HOME_COUNTRY, Procedure, SopStatus, SopTemplate
from repatriation.schemas.cases import CasePublic, ConsentIn, OutboundCaseCreate, PersonIn
from repatriation.schemas.liaison import InboundNotification
from repatriation.store import (
    RepatriationCase,
    audit,
    open_case_for_identification,
    open_case_with_reference,
    seal_person,
)
from repatriation.usecases.clocks import start_clocks
from repatriation.usecases.liaison_inbox import Answer, Outcome, Received, receive
from repatriation.usecases.steps import answer_of, complete_step
from repatriation.views.cases import case_view


def choose_template(
    context: Repatriation, country: str, direction: Direction, version: str | None, on: date
) -> tuple[SopTemplate, Procedure]:
    """The SOP a new case runs: the named version, or the one in force with ``country``."""
    if version is None:
        template = context.library.current(country, direction, on)
        if template is None:
            drafts = [t.version for t in context.library.for_country(country)]
            hint = f" (drafts: {', '.join(drafts)}; name one as sop_version)" if drafts else ""
            raise Conflict(
                f"no SOP in force with {country} for {direction} cases{hint}",
                code="no_sop",
                field="counterpart_country",
            )
    else:
        candidates = [t for t in context.library.for_country(country) if t.version == version]
        if not candidates or candidates[0].status is SopStatus.SUPERSEDED:
            raise Invalid(f"no usable SOP version {version!r} with {country}", field="sop_version")
        template = candidates[0]
    procedure = template.procedure(direction)
    if procedure is None:
        raise Conflict(
            f"SOP {template.id} {template.version} has no {direction} procedure",
            code="no_sop",
            field="counterpart_country",
        )
    return template, procedure


def _check_consent(consent: ConsentIn, child: bool) -> None:
    if consent.status is not ConsentStatus.GIVEN:
        raise Invalid(
            "a repatriation needs the consent to return", field="consent_to_return.status"
        )
    problem = rules.consent_basis_problem(child, consent.basis)
    if problem is not None:
        raise Invalid(problem, field="consent_to_return.basis")


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
    """A case, not yet stored; refused without a valid consent to return."""
    now = context.clock()
    child = rules.is_child(person.birth_date, person.estimated_age, cambodian_date(now))
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


async def open_outbound_case(
    database: Database, context: Repatriation, principal: Principal, form: OutboundCaseCreate
) -> CasePublic:
    """An officer proposes returning a foreign national identified in Cambodia; one open
    case per identification case."""
    if form.counterpart_country == HOME_COUNTRY:
        raise Invalid("the counterpart is another country", field="counterpart_country")
    template, procedure = choose_template(
        context,
        form.counterpart_country,
        Direction.OUTBOUND,
        form.sop_version,
        cambodian_date(context.clock()),
    )
    case = new_case(
        context,
        direction=Direction.OUTBOUND,
        country=form.counterpart_country,
        template=template,
        origin=CaseOrigin.OFFICER,
        opened_by=principal.organisation,
        person=form.person,
        consent=form.consent_to_return,
        identification_case_id=form.identification_case_id,
    )
    async with database.unit_of_work(actor=principal.actor) as uow:
        if await open_case_for_identification(uow.session, form.identification_case_id):
            raise Conflict(
                "this identification case has an open repatriation case",
                code="already_open",
                field="identification_case_id",
            )
        open_case(context, uow, case, procedure)
        await audit(uow.session, principal, AuditAction.WRITE, case.id, "case_opening")
        await uow.commit()
        return await case_view(context, uow.session, case)


async def notify_inbound_case(
    database: Database,
    context: Repatriation,
    caller: Counterpart,
    notification: InboundNotification,
    idempotency_key: str,
    *,
    accepted_status: int,
) -> Answer:
    """A counterpart notifies a presumed Cambodian victim to be returned: the case opens
    under the SOP in force with its country and completes its notification step."""

    async def apply(uow: UnitOfWork) -> Outcome:
        template, procedure = choose_template(
            context,
            caller.country,
            Direction.INBOUND,
            notification.sop_version,
            cambodian_date(context.clock()),
        )
        if await open_case_with_reference(
            uow.session, caller.country, notification.counterpart_reference
        ):
            raise Conflict(
                "an open case already has this counterpart_reference",
                code="already_open",
                field="counterpart_reference",
            )
        case = new_case(
            context,
            direction=Direction.INBOUND,
            country=caller.country,
            template=template,
            origin=CaseOrigin.COUNTERPART_NOTIFICATION,
            opened_by=caller.organisation,
            person=notification.person,
            consent=notification.consent_to_return,
            counterpart_reference=notification.counterpart_reference,
        )
        open_case(context, uow, case, procedure)
        await uow.session.flush()
        await complete_step(
            context,
            uow,
            case,
            Submission(procedure.start, tuple(notification.documents), {}),
            country=caller.country,
            organisation=caller.organisation,
        )
        await audit(uow.session, caller.principal, AuditAction.WRITE, case.id, "case_notification")
        return case.id, await answer_of(context, uow, case)

    received = Received(
        country=caller.country,
        organisation=caller.organisation,
        idempotency_key=idempotency_key,
        message_type="notification",
        step=None,
        body=caller.body,
    )
    return await receive(
        database,
        context.keys,
        received,
        context.clock(),
        apply,
        principal=caller.principal,
        accepted_status=accepted_status,
    )
