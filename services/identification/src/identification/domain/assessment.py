"""The presumptive assessment: does the screening meet the Palermo test, and why.

A pure function of the answers. It explains each element (which answers met act, means
and purpose), applies the child rule (under 18 at the time needs no means) and the
irrelevance of the person's consent once a means was used. It presumes; only the
Competent Authority decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from identification.domain.indicators import (
    CONTINUUM_GREY_ZONE,
    CONTINUUM_MEANINGS,
    CONTINUUM_MEANS,
    Act,
    ContinuumPosition,
    Means,
    Purpose,
)
from nrm_contracts.events.identification import LabourSector, PresumptiveResult


class AgeBasis(StrEnum):
    """How the person's age at the time is known."""

    BIRTH_DATE = "birth_date"
    ESTIMATED_AGE = "estimated_age"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ScreeningAnswers:
    """What the assessment reads of a screening."""

    acts: list[Act] = field(default_factory=list)
    means: list[Means] = field(default_factory=list)
    purposes: list[Purpose] = field(default_factory=list)
    labour_sectors: list[LabourSector] = field(default_factory=list)
    continuum: ContinuumPosition | None = None
    person_consented: bool | None = None
    is_child: bool | None = None
    age_basis: AgeBasis = AgeBasis.UNKNOWN


@dataclass(frozen=True)
class ElementFinding:
    """One element of the test: met or not, by which answers, and a word on it."""

    met: bool
    required: bool
    answers: list[str]
    explanation: str


@dataclass(frozen=True)
class PresumptiveAssessment:
    result: PresumptiveResult
    act: ElementFinding
    means: ElementFinding
    purpose: ElementFinding
    child_rule: str
    consent: str | None
    summary: str
    # The child rule as a value: no means is required (under 18 at the encounter).
    child_rule_applies: bool = False


def assess(answers: ScreeningAnswers) -> PresumptiveAssessment:
    """The presumptive result of ``answers`` with its explanation per element."""
    child = answers.is_child is True
    act = _act(answers)
    means = _means(answers, required=not child)
    purpose = _purpose(answers)
    required = [finding for finding in (act, means, purpose) if finding.required]
    missing = sum(not finding.met for finding in required)
    grey_zone = answers.continuum in CONTINUUM_GREY_ZONE
    if missing == 0:
        result = PresumptiveResult.PRESUMED_VICTIM
        summary = "every required element is met: presumed victim of trafficking"
    elif missing == 1 or (grey_zone and missing <= len(required) - 1):
        result = PresumptiveResult.POSSIBLE_VICTIM_MORE_INFORMATION_NEEDED
        names = ", ".join(n for n, f in _named(act, means, purpose) if f.required and not f.met)
        summary = f"possible victim: more information needed on {names}"
    else:
        result = PresumptiveResult.INDICATORS_NOT_MET
        summary = "the indicators do not meet the test"
        if answers.continuum is ContinuumPosition.F:
            summary += f" (continuum F: {CONTINUUM_MEANINGS[ContinuumPosition.F]})"
    return PresumptiveAssessment(
        result=result,
        act=act,
        means=means,
        purpose=purpose,
        child_rule=_child_rule(answers),
        consent=_consent(answers, means_met=means.met, child=child),
        summary=summary,
        child_rule_applies=child,
    )


def _named(
    act: ElementFinding, means: ElementFinding, purpose: ElementFinding
) -> list[tuple[str, ElementFinding]]:
    return [("act", act), ("means", means), ("purpose", purpose)]


def _act(answers: ScreeningAnswers) -> ElementFinding:
    found = [f"act: {act}" for act in answers.acts]
    if found:
        return ElementFinding(True, True, found, "an act of trafficking was reported")
    return ElementFinding(False, True, [], "no act (recruitment, transport, ...) was reported")


def _means(answers: ScreeningAnswers, *, required: bool) -> ElementFinding:
    found = [f"means: {means}" for means in answers.means]
    position = answers.continuum
    if position in CONTINUUM_MEANS:
        found.append(f"continuum {position}: {CONTINUUM_MEANINGS[position]}")
    met = bool(found)
    if not required:
        explanation = "not required: a child needs no means"
    elif met:
        explanation = "a means of control was used"
    elif position in CONTINUUM_GREY_ZONE:
        explanation = (
            f"no means established; continuum {position} "
            f"({CONTINUUM_MEANINGS[position]}) suggests one: ask further"
        )
    else:
        explanation = "no means (force, threat, deception, debt bondage, ...) was reported"
    return ElementFinding(met, required, found, explanation)


def _purpose(answers: ScreeningAnswers) -> ElementFinding:
    found = [f"purpose: {purpose}" for purpose in answers.purposes]
    found += [f"labour sector: {sector}" for sector in answers.labour_sectors]
    if answers.purposes:
        return ElementFinding(True, True, found, "a purpose of exploitation was reported")
    return ElementFinding(False, True, found, "no purpose of exploitation was reported")


def _child_rule(answers: ScreeningAnswers) -> str:
    if answers.is_child is None:
        return (
            "age unknown: the adult test applies until the age is established; "
            "a child would need no means"
        )
    if not answers.is_child:
        return "an adult at the time: act, means and purpose are required"
    if answers.age_basis is AgeBasis.ESTIMATED_AGE:
        return (
            "the child rule applies on an estimated age under 18: no means is required "
            "(the age is an estimate; establish it)"
        )
    return "a child (under 18 at the time): no means is required"


def _consent(answers: ScreeningAnswers, *, means_met: bool, child: bool) -> str | None:
    if not answers.person_consented:
        return None
    if child:
        return "the consent of a child to the exploitation is irrelevant"
    if means_met:
        return "the person's consent is irrelevant: a means was used"
    return "the person consented and no means was found: the consent is not set aside"
