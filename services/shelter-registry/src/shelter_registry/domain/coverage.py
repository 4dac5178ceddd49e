"""Coverage: beds and services by population group and province, and the gaps.

Computed from the registered facilities only (an applying, suspended or revoked facility
serves nobody through the NRM). A facility counts for every group it is eligible for, so
one shelter for girls and women counts in both rows: the beds of a cell are the beds
that group can use, not a share of a national total. Gaps are found, never declared:

* ``no_residential_provider``: no registered residential shelter in the country serves
  the group (the source report's gap for adult men and transgender persons);
* ``no_provider_in_province``: no registered facility of any kind in the province serves
  the group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from nrm_contracts.events.referral import PopulationGroup
from nrm_contracts.events.shelter_registry import SupportService
from shelter_registry.domain.facilities import (
    REPORTED_GROUPS,
    FacilityProfile,
    Group,
    offered_for_referral,
)
from shelter_registry.domain.geography import Geography


class GapKind(StrEnum):
    NO_RESIDENTIAL_PROVIDER = "no_residential_provider"
    NO_PROVIDER_IN_PROVINCE = "no_provider_in_province"


@dataclass
class Cell:
    """One group in one province (or nationally, when ``province_code`` is None)."""

    group: PopulationGroup
    province_code: str | None
    facilities: int = 0
    residential_facilities: int = 0
    beds_total: int = 0
    beds_free: int = 0
    services: set[SupportService] = field(default_factory=set)

    def add(self, facility: FacilityProfile) -> None:
        self.facilities += 1
        self.services |= facility.services
        self.beds_total += facility.beds.total
        self.beds_free += facility.beds.free
        if facility.is_residential:
            self.residential_facilities += 1


@dataclass(frozen=True)
class Gap:
    kind: GapKind
    group: PopulationGroup
    province_code: str | None
    message: str


@dataclass(frozen=True)
class Coverage:
    national: list[Cell]
    provinces: list[Cell]
    gaps: list[Gap]


def coverage(facilities: Iterable[FacilityProfile], geography: Geography) -> Coverage:
    """Coverage of every reported group nationally and in every province, with the gaps."""
    offered = [f for f in facilities if offered_for_referral(f.status)]
    national = {g.group: Cell(g.group, None) for g in REPORTED_GROUPS}
    cells = {
        (g.group, code): Cell(g.group, code)
        for code in geography.provinces
        for g in REPORTED_GROUPS
    }
    for facility in offered:
        for group in _groups_served(facility):
            national[group.group].add(facility)
            cells[(group.group, facility.province_code)].add(facility)
    gaps = [
        Gap(
            GapKind.NO_RESIDENTIAL_PROVIDER,
            cell.group,
            None,
            f"no registered residential shelter serves {_words(cell.group)} anywhere",
        )
        for cell in national.values()
        if cell.residential_facilities == 0
    ]
    gaps += [
        Gap(
            GapKind.NO_PROVIDER_IN_PROVINCE,
            cell.group,
            cell.province_code,
            f"no registered provider serves {_words(cell.group)} in "
            f"{geography.name_of(cell.province_code or '')}",
        )
        for cell in cells.values()
        if cell.facilities == 0
    ]
    return Coverage(list(national.values()), list(cells.values()), gaps)


def _groups_served(facility: FacilityProfile) -> list[Group]:
    return [group for group in REPORTED_GROUPS if facility.serves_group(group)]


def _words(group: PopulationGroup) -> str:
    return group.value.replace("_", " ")
