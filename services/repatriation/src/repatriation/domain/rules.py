"""The rules of a repatriation case, pure: which step may come next, who may complete
it, what it needs, and what it changes. The procedure itself is data
(:mod:`repatriation.domain.sop`); these rules hold for every procedure:

- steps follow the procedure's transitions (else a conflict naming the steps allowed now);
- a step is completed by its acting country only;
- the person's consent to return is required, and a withdrawn consent stops the case
  before any handover;
- a child's case passes a best-interest assessment before any handover;
- a step provides its required documents and details.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from nrm_runtime.errors import Conflict, Invalid, NotPermitted
from repatriation.domain.sop import Detail, Procedure, SopTemplate, Step, StepKind

HANDOVER_KINDS = frozenset({StepKind.HANDOVER_AGREEMENT, StepKind.HANDOVER})


class ReintegrationStatus(StrEnum):
    WITH_FAMILY = "with_family"
    IN_AFTERCARE = "in_aftercare"
    LIVING_INDEPENDENTLY = "living_independently"
    NOT_LOCATED = "not_located"


class ConsentStatus(StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"


class ConsentBasis(StrEnum):
    """An adult consents; for a child, a guardian or a best-interest decision."""

    OWN_CONSENT = "own_consent"
    GUARDIAN = "guardian"
    BEST_INTEREST_DECISION = "best_interest_decision"


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know of a case."""

    is_open: bool
    is_child: bool
    consent_given: bool
    last_step: str | None
    completed_kinds: frozenset[StepKind]


@dataclass(frozen=True)
class Submission:
    """A step as submitted: its id, the kinds of document provided, its details."""

    step: str
    documents: tuple[str, ...]
    details: Mapping[str, Any]


def consent_basis_problem(is_child: bool, basis: ConsentBasis) -> str | None:
    """Why ``basis`` cannot carry the consent to return of this person, if it cannot."""
    if is_child and basis is ConsentBasis.OWN_CONSENT:
        return "a child's return needs a guardian's consent or a best-interest decision"
    if not is_child and basis is not ConsentBasis.OWN_CONSENT:
        return "an adult's return needs the person's own consent"
    return None


def is_child(birth_date: date | None, estimated_age: int | None, on: date) -> bool:
    """Under 18 on ``on``: by the birth date if known, else by the estimated age."""
    if birth_date is not None:
        birthday_passed = (on.month, on.day) >= (birth_date.month, birth_date.day)
        return on.year - birth_date.year - (0 if birthday_passed else 1) < 18
    return estimated_age is not None and estimated_age < 18


def allowed_steps(procedure: Procedure, facts: CaseFacts) -> list[Step]:
    """The steps the case may take now (none once closed)."""
    if not facts.is_open:
        return []
    return procedure.allowed_after(facts.last_step, is_child=facts.is_child)


def check_step(
    template: SopTemplate,
    procedure: Procedure,
    facts: CaseFacts,
    submission: Submission,
    *,
    acting_country: str,
    today: date,
) -> Step:
    """The step ``submission`` completes, if the rules allow it; else the domain error
    that refuses it."""
    if not facts.is_open:
        raise Conflict("the case is closed", code="case_closed")
    allowed = allowed_steps(procedure, facts)
    names = ", ".join(step.id for step in allowed) or "none"
    if not procedure.has_step(submission.step):
        raise Invalid(
            f"no step {submission.step!r} in this SOP; allowed now: {names}",
            code="unknown_step",
            field="step",
        )
    step = procedure.step(submission.step)
    if step not in allowed:
        raise Conflict(
            f"step {step.id!r} is not allowed now; allowed now: {names}",
            code="step_not_allowed",
            field="step",
        )
    if step.acting_country != acting_country:
        raise NotPermitted(
            f"step {step.id!r} is for {step.acting_country} to complete", code="not_your_step"
        )
    if step.kind in HANDOVER_KINDS:
        if not facts.consent_given:
            raise Conflict(
                "the person's consent to return is not (or no longer) given",
                code="consent_required",
            )
        if facts.is_child and StepKind.BEST_INTEREST_ASSESSMENT not in facts.completed_kinds:
            raise Conflict(
                "a child's handover needs a completed best-interest assessment",
                code="best_interest_assessment_required",
            )
    _check_documents(template, step, submission.documents)
    _check_details(template, step, submission.details, today)
    return step


def _check_documents(template: SopTemplate, step: Step, documents: tuple[str, ...]) -> None:
    for index, kind in enumerate(documents):
        if kind not in template.document_kinds:
            raise Invalid(f"unknown document kind {kind!r}", field=f"documents[{index}]")
    missing = [kind for kind in step.required_documents if kind not in documents]
    if missing:
        raise Invalid(f"step {step.id!r} requires: {', '.join(missing)}", field="documents")


def _check_details(
    template: SopTemplate, step: Step, details: Mapping[str, Any], today: date
) -> None:
    for detail in step.required_details:
        if details.get(detail.value) is None:
            raise Invalid(
                f"step {step.id!r} requires {detail.value}", field=f"details.{detail.value}"
            )
    border_point = details.get(Detail.BORDER_POINT.value)
    if border_point is not None and template.border_point(border_point) is None:
        codes = ", ".join(point.code for point in template.border_points)
        raise Invalid(
            f"not a border point of this SOP; known: {codes}", field="details.border_point"
        )
    handover_date = details.get(Detail.HANDOVER_DATE.value)
    if handover_date is not None and handover_date < today:
        raise Invalid("the handover date is in the past", field="details.handover_date")
