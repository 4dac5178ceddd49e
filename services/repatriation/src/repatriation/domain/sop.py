"""Bilateral procedures as data: the SOP template schema, its loader and its rules.

A template is a YAML file (``sops/*.yaml`` in the ``repatriation`` package, plus any
directory named in ``REPATRIATION_SOP_DIRECTORIES``): one agreement with one counterpart
country, in one version, with a procedure per direction. A procedure is a graph of
steps: who acts (country and agency), the working days the step may take once it is
allowed, the documents and details it needs, and the steps allowed after it. A new
agreement is a new file; the code knows only the step *kinds* that carry a rule
(best-interest assessment, handover agreement, handover).

A file that does not validate is refused at load, naming the file and the path of the
offending value (``procedures.outbound.steps[3].next[0]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nrm_contracts.events.repatriation import ClosureOutcome, Direction

HOME_COUNTRY = "KHM"
BUILT_IN_DIRECTORY = Path(__file__).parents[1] / "sops"
SCHEMA_TAG = "nrm.repatriation.sop/1"

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Alpha3 = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
AgencyCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9-]{0,31}$")]


class SopStatus(StrEnum):
    IN_FORCE = "in_force"
    DRAFT = "draft"
    SUPERSEDED = "superseded"


class StepKind(StrEnum):
    """The kinds of step the service attaches a rule to; every other step is ordinary."""

    ORDINARY = "ordinary"
    BEST_INTEREST_ASSESSMENT = "best_interest_assessment"
    HANDOVER_AGREEMENT = "handover_agreement"
    HANDOVER = "handover"


class AppliesTo(StrEnum):
    EVERYONE = "everyone"
    CHILDREN = "children"


class Detail(StrEnum):
    """The details a step may require: the vocabulary templates choose from."""

    CONTACT_NAME = "contact_name"
    HANDOVER_DATE = "handover_date"
    BORDER_POINT = "border_point"
    RECEPTION_ORGANISATION = "reception_organisation"
    RECEPTION_PROVINCE_CODE = "reception_province_code"
    REINTEGRATION_STATUS = "reintegration_status"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Agency(_Strict):
    code: AgencyCode
    country: Alpha3
    name: str = Field(min_length=1, max_length=200)


class BorderPoint(_Strict):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    province_code: str = Field(pattern=r"^[0-9]{2}$", description="Cambodian side.")
    reception_organisation: str | None = Field(
        default=None, max_length=64, description="Who receives returnees here by default."
    )


class Step(_Strict):
    id: StepId
    title: str = Field(min_length=1, max_length=200)
    acting_country: Alpha3
    agency: AgencyCode
    kind: StepKind = StepKind.ORDINARY
    applies_to: AppliesTo = AppliesTo.EVERYONE
    deadline_working_days: int | None = Field(default=None, ge=1, le=365)
    required_documents: tuple[Code, ...] = ()
    required_details: tuple[Detail, ...] = ()
    next: tuple[StepId, ...] = ()
    closes_case: ClosureOutcome | None = None


class Procedure(_Strict):
    start: StepId
    steps: tuple[Step, ...] = Field(min_length=1)

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)

    def has_step(self, step_id: str) -> bool:
        return any(step.id == step_id for step in self.steps)

    def allowed_after(self, last_step: str | None, *, is_child: bool) -> list[Step]:
        """The steps allowed next: after ``last_step`` (None: the start). A step that
        does not apply to this person (a child-only step for an adult) is passed
        through to the steps after it."""
        following = [self.start] if last_step is None else list(self.step(last_step).next)
        allowed: list[Step] = []
        seen: set[str] = set()
        while following:
            step = self.step(following.pop(0))
            if step.id in seen:
                continue
            seen.add(step.id)
            if step.applies_to is AppliesTo.CHILDREN and not is_child:
                following.extend(step.next)
            else:
                allowed.append(step)
        return allowed


class Procedures(_Strict):
    outbound: Procedure | None = None
    inbound: Procedure | None = None


class SopTemplate(_Strict):
    """One bilateral agreement in one version."""

    schema_: str = Field(alias="schema", pattern=rf"^{SCHEMA_TAG.replace('.', '[.]')}$")
    id: Code
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
    title: str = Field(min_length=1, max_length=300)
    counterpart_country: Alpha3
    status: SopStatus
    effective_from: date | None = None
    agencies: tuple[Agency, ...] = Field(min_length=1)
    document_kinds: tuple[Code, ...] = ()
    border_points: tuple[BorderPoint, ...] = Field(min_length=1)
    procedures: Procedures

    def procedure(self, direction: Direction) -> Procedure | None:
        return (
            self.procedures.outbound if direction is Direction.OUTBOUND else self.procedures.inbound
        )

    def border_point(self, code: str) -> BorderPoint | None:
        return next((point for point in self.border_points if point.code == code), None)

    def agency(self, code: str) -> Agency | None:
        return next((agency for agency in self.agencies if agency.code == code), None)


class SopFileInvalid(ValueError):
    """A template file refused at load: which file, where in it, what is wrong."""

    def __init__(self, file: Path, path: str, message: str) -> None:
        super().__init__(f"{file}: {path or '(document)'}: {message}")
        self.file = file
        self.path = path
        self.message = message


def _path(location: Iterable[Any]) -> str:
    """``("procedures", "outbound", "steps", 3)`` → ``procedures.outbound.steps[3]``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_template(document: object, file: Path) -> SopTemplate:
    """Validate a parsed YAML document as a template: schema first, then the rules."""
    try:
        template = SopTemplate.model_validate(document)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        raise SopFileInvalid(file, _path(first["loc"]), first["msg"]) from None
    for path, message in _rule_violations(template):
        raise SopFileInvalid(file, path, message)
    return template


def load_template(file: Path) -> SopTemplate:
    """Read and validate one template file."""
    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as broken:
        mark = getattr(broken, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise SopFileInvalid(file, where, f"not valid YAML: {broken}") from None
    return parse_template(document, file)


def _rule_violations(template: SopTemplate) -> Iterable[tuple[str, str]]:
    """What the schema cannot say: references resolve, the graph is sound, children are
    assessed before any handover."""
    countries = {HOME_COUNTRY, template.counterpart_country}
    if template.counterpart_country == HOME_COUNTRY:
        yield "counterpart_country", "the counterpart cannot be Cambodia itself"
    for index, agency in enumerate(template.agencies):
        if agency.country not in countries:
            yield f"agencies[{index}].country", f"{agency.country} is not a party to this SOP"
    if template.procedures.outbound is None and template.procedures.inbound is None:
        yield "procedures", "at least one of outbound, inbound is required"
    for direction in Direction:
        procedure = template.procedure(direction)
        if procedure is not None:
            yield from _procedure_violations(template, direction, procedure)


def _procedure_violations(
    template: SopTemplate, direction: Direction, procedure: Procedure
) -> Iterable[tuple[str, str]]:
    where = f"procedures.{direction.value}"
    ids = [step.id for step in procedure.steps]
    for index, step_id in enumerate(ids):
        if ids.index(step_id) != index:
            yield f"{where}.steps[{index}].id", f"step {step_id!r} defined twice"
    if not procedure.has_step(procedure.start):
        yield f"{where}.start", f"unknown step {procedure.start!r}"
        return
    sender = HOME_COUNTRY if direction is Direction.OUTBOUND else template.counterpart_country
    start = procedure.step(procedure.start)
    if start.acting_country != sender:
        yield f"{where}.start", f"the sending country ({sender}) notifies: {start.id!r} is not its"
    if start.applies_to is not AppliesTo.EVERYONE:
        yield f"{where}.start", "the first step applies to everyone"
    for index, step in enumerate(procedure.steps):
        at = f"{where}.steps[{index}]"
        agency = template.agency(step.agency)
        if agency is None:
            yield f"{at}.agency", f"unknown agency {step.agency!r}"
        elif agency.country != step.acting_country:
            yield f"{at}.agency", f"{step.agency} is not an agency of {step.acting_country}"
        for number, document in enumerate(step.required_documents):
            if document not in template.document_kinds:
                yield f"{at}.required_documents[{number}]", f"unknown document kind {document!r}"
        for number, following in enumerate(step.next):
            if not procedure.has_step(following):
                yield f"{at}.next[{number}]", f"unknown step {following!r}"
        if step.closes_case is None and not step.next:
            yield f"{at}.next", "a step that does not close the case needs a next step"
        if step.closes_case is not None and step.next:
            yield f"{at}.next", "a step that closes the case has no next step"
        if step.kind is StepKind.HANDOVER_AGREEMENT and not {
            Detail.HANDOVER_DATE,
            Detail.BORDER_POINT,
        } <= set(step.required_details):
            yield f"{at}.required_details", "a handover agreement needs handover_date, border_point"
        if step.kind is StepKind.HANDOVER and step.closes_case is not None:
            yield f"{at}.closes_case", "the handover is followed by reception and follow-up"
    yield from _graph_violations(where, procedure)


def _graph_violations(where: str, procedure: Procedure) -> Iterable[tuple[str, str]]:
    reachable = _reachable(procedure, procedure.start, avoiding=frozenset())
    for index, step in enumerate(procedure.steps):
        if step.id not in reachable:
            yield f"{where}.steps[{index}]", f"step {step.id!r} cannot be reached from the start"
    # For a child, every path from the start to a handover passes a best-interest
    # assessment that applies to children: without those steps, no handover is reachable.
    assessments = frozenset(
        step.id
        for step in procedure.steps
        if step.kind is StepKind.BEST_INTEREST_ASSESSMENT
        and step.applies_to in (AppliesTo.CHILDREN, AppliesTo.EVERYONE)
    )
    without_assessment = _reachable(procedure, procedure.start, avoiding=assessments)
    for index, step in enumerate(procedure.steps):
        if (
            step.kind in (StepKind.HANDOVER_AGREEMENT, StepKind.HANDOVER)
            and step.id in without_assessment
        ):
            yield (
                f"{where}.steps[{index}]",
                f"a child could reach {step.id!r} without a best-interest assessment",
            )


def _reachable(procedure: Procedure, start: str, *, avoiding: frozenset[str]) -> set[str]:
    seen: set[str] = set()
    pending = [start]
    while pending:
        step_id = pending.pop()
        if step_id in seen or step_id in avoiding or not procedure.has_step(step_id):
            continue
        seen.add(step_id)
        pending.extend(procedure.step(step_id).next)
    return seen


@dataclass(frozen=True)
class SopLibrary:
    """Every loaded template, by (id, version)."""

    templates: tuple[SopTemplate, ...]

    @classmethod
    def load(cls, directories: Iterable[Path] = ()) -> SopLibrary:
        """The built-in templates and those in ``directories``; refuses an invalid file
        and a (id, version) defined twice."""
        found: dict[tuple[str, str], Path] = {}
        templates: list[SopTemplate] = []
        for directory in [BUILT_IN_DIRECTORY, *directories]:
            for file in sorted(directory.glob("*.yaml")):
                template = load_template(file)
                key = (template.id, template.version)
                if key in found:
                    raise SopFileInvalid(file, "version", f"{key} already defined in {found[key]}")
                found[key] = file
                templates.append(template)
        return cls(tuple(templates))

    def get(self, sop_id: str, version: str) -> SopTemplate | None:
        return next(
            (t for t in self.templates if t.id == sop_id and t.version == version),
            None,
        )

    def for_country(self, country: str) -> list[SopTemplate]:
        return [t for t in self.templates if t.counterpart_country == country]

    def current(self, country: str, direction: Direction, on: date) -> SopTemplate | None:
        """The template a new case with ``country`` runs: the latest in force on ``on``
        that has a procedure for ``direction``."""
        candidates = [
            t
            for t in self.for_country(country)
            if t.status is SopStatus.IN_FORCE
            and (t.effective_from is None or t.effective_from <= on)
            and t.procedure(direction) is not None
        ]
        return max(candidates, key=lambda t: t.effective_from or date.min, default=None)
