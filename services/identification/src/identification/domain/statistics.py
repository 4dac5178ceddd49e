"""The authoritative count of victims: unique persons (the person index) beside the
records agencies made of them, grouped and filtered, small cells suppressed.

A record counts in the cell its own fields put it in (the agency that screened, the
province of the encounter, ...); a person counts once per cell whatever the number of
their records in it, and once in the total. So a person screened by police and by an NGO
counts once in each agency's cell, and the cells of a dimension may add up to more than
the total: the total is the authoritative figure.

Pure: :func:`tabulate` takes the rows, the use case reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from identification.domain.indicators import EXPLOITATION_TYPE_OF_PURPOSE, Purpose

UNKNOWN = "unknown"


class Dimension(StrEnum):
    PERIOD = "period"
    SEX = "sex"
    AGE_BAND = "age_band"
    NATIONALITY = "nationality"
    EXPLOITATION_TYPE = "exploitation_type"
    AGENCY = "agency"
    PROVINCE = "province"
    DECISION_STAGE = "decision_stage"


class Period(StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"


@dataclass(frozen=True)
class CountedRecord:
    """One record as statistics see it: its person and non-identifying attributes."""

    person_id: str
    encounter_date: date
    sex: str
    age_band: str
    nationality: str | None
    purposes: Sequence[str]
    agency: str
    province: str | None
    decision_stage: str

    def values(self, dimension: Dimension, period: Period) -> list[str]:
        """The record's value(s) in ``dimension`` (several exploitation types are several)."""
        if dimension is Dimension.PERIOD:
            return [period_of(self.encounter_date, period)]
        if dimension is Dimension.EXPLOITATION_TYPE:
            kinds = {str(EXPLOITATION_TYPE_OF_PURPOSE[Purpose(p)]) for p in self.purposes}
            return sorted(kinds) or [UNKNOWN]
        value = {
            Dimension.SEX: self.sex,
            Dimension.AGE_BAND: self.age_band,
            Dimension.NATIONALITY: self.nationality,
            Dimension.AGENCY: self.agency,
            Dimension.PROVINCE: self.province,
            Dimension.DECISION_STAGE: self.decision_stage,
        }[dimension]
        return [value or UNKNOWN]


def period_of(day: date, period: Period) -> str:
    if period is Period.YEAR:
        return f"{day.year}"
    if period is Period.QUARTER:
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


@dataclass(frozen=True)
class Count:
    """Records and unique persons of one cell; both None when suppressed."""

    records: int | None
    persons: int | None
    suppressed: bool


@dataclass
class Table:
    total: Count
    cells: list[tuple[dict[str, str], Count]] = field(default_factory=list)


def _is_small(persons: int, min_cell: int) -> bool:
    # Fewer than k persons could be recognised (a district, a rare nationality):
    # neither figure is shown. Zero is not a small cell: nobody can be recognised in it.
    return 0 < persons < min_cell


def _count(records: int, persons: int, hidden: bool) -> Count:
    return Count(None, None, True) if hidden else Count(records, persons, False)


Key = tuple[str, ...]


def suppressed_cells(persons: dict[Key, int], *, dimensions: int, min_cell: int) -> set[Key]:
    """The cells to hide: the small ones, and enough others that none of them can be
    recovered by subtraction.

    Every line of the table (the cells that differ in one dimension only) has a margin
    anyone can get: the total for a one-dimension table, another query's cell for more
    (``group_by=[sex]`` is the margin of ``group_by=[sex, province]``'s lines); the whole
    table's margin is the total. A line with exactly one hidden cell gives it away
    (margin minus the shown cells), so the smallest shown cell of that line is hidden
    with it; hiding that one may leave another line with a single hidden cell, so this
    repeats until no line has exactly one.

    A cell alone in a line is that line's margin: hidden, it is still known wherever that
    margin is shown, so such a cell is chosen as a complement only when its line has no
    other (a small one is safe: its margin is small too, and hidden where it is shown).
    The cells given are the non-empty ones (an absent cell is zero, which hides nobody).

    Each answer is suppressed on its own: a margin is another answer's cell, shown there
    unless that answer hides it. Chains through several answers (a hidden cell told by
    one query's margin, then another's by subtraction) are not ruled out for tables of
    two or more dimensions; a table of one dimension is safe against its total.
    """
    small = {key for key, count in persons.items() if _is_small(count, min_cell)}
    lines = [line for dimension in range(dimensions) for line in _lines(persons, dimension)]
    if dimensions > 1:
        lines.append(list(persons))  # the whole table: its margin is the total
    weak = {line[0] for line in lines if len(line) == 1} - small
    hidden = set(small)
    changed = True
    while changed:
        changed = False
        for line in lines:
            shown = [key for key in line if key not in hidden]
            if len(line) - len(shown) != 1 or not shown:
                continue
            # The next-smallest cell (the least information lost); one that guards
            # whatever the other queries show, if the line has one.
            guards = [key for key in shown if key not in weak] or shown
            hidden.add(min(guards, key=lambda key: (persons[key], key)))
            changed = True
    return hidden


def _lines(persons: dict[Key, int], dimension: int) -> list[list[Key]]:
    """The table's lines along ``dimension``: cells equal in every other dimension."""
    lines: dict[Key, list[Key]] = {}
    for key in persons:
        lines.setdefault((*key[:dimension], *key[dimension + 1 :]), []).append(key)
    return list(lines.values())


def tabulate(
    rows: Iterable[CountedRecord],
    *,
    group_by: Sequence[Dimension],
    period: Period,
    min_cell: int,
) -> Table:
    """Records and unique persons, in total and per combination of ``group_by`` values."""
    total_records = 0
    total_persons: set[str] = set()
    cells: dict[Key, tuple[int, set[str]]] = {}
    for row in rows:
        total_records += 1
        total_persons.add(row.person_id)
        for key in _keys(row, group_by, period):
            records, persons = cells.get(key, (0, set()))
            persons.add(row.person_id)
            cells[key] = (records + 1, persons)
    table = Table(
        _count(total_records, len(total_persons), _is_small(len(total_persons), min_cell))
    )
    hidden = suppressed_cells(
        {key: len(persons) for key, (_, persons) in cells.items()},
        dimensions=len(group_by),
        min_cell=min_cell,
    )
    for key in sorted(cells):
        records, persons = cells[key]
        table.cells.append(
            (
                {str(dimension): value for dimension, value in zip(group_by, key, strict=True)},
                _count(records, len(persons), key in hidden),
            )
        )
    return table


def _keys(
    row: CountedRecord, group_by: Sequence[Dimension], period: Period
) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = [()]
    for dimension in group_by:
        keys = [(*key, value) for key in keys for value in row.values(dimension, period)]
    return keys
