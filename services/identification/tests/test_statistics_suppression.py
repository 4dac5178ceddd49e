"""Complementary cell suppression: a small cell (fewer than k persons) is hidden, and so
are enough other cells that it cannot be recovered by subtracting the shown cells of its
row or column from their margin (the total, or the cell another query shows)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from identification.domain.statistics import (
    CountedRecord,
    Dimension,
    Key,
    Period,
    suppressed_cells,
    tabulate,
)

K = 5


def _lines(cells: dict[Key, int], dimensions: int) -> list[list[Key]]:
    """Every row, column, ... of the table: the cells that differ in one dimension."""
    found = []
    for dimension in range(dimensions):
        lines: dict[Key, list[Key]] = {}
        for key in cells:
            lines.setdefault(key[:dimension] + key[dimension + 1 :], []).append(key)
        found.extend(lines.values())
    return found


def _margins(cells: dict[Key, int], dimension: int) -> dict[Key, int | None]:
    """Each line's margin along ``dimension`` as the coarser query shows it (the same
    table without that dimension, suppressed by the same rule); None: hidden there."""
    coarser: dict[Key, int] = {}
    for key, persons in cells.items():
        line = key[:dimension] + key[dimension + 1 :]
        coarser[line] = coarser.get(line, 0) + persons
    if not coarser or len(next(iter(coarser))) == 0:  # the margin is the total
        return {line: total if total >= K else None for line, total in coarser.items()}
    hidden = suppressed_cells(coarser, dimensions=len(next(iter(coarser))), min_cell=K)
    return {line: None if line in hidden else total for line, total in coarser.items()}


def _recovered(cells: dict[Key, int], hidden: set[Key], dimensions: int) -> set[Key]:
    """The small cells an attacker works out by subtraction, line after line, from the
    shown cells and every margin the coarser queries show."""
    lines = []
    for dimension in range(dimensions):
        margins = _margins(cells, dimension)
        for line, keys in _line_members(cells, dimension).items():
            if margins[line] is not None:
                lines.append(keys)
    known = set(cells) - hidden
    changed = True
    while changed:
        changed = False
        for line in lines:
            unknown = [key for key in line if key not in known]
            if len(unknown) == 1:
                known.add(unknown[0])
                changed = True
    return {key for key in hidden if key in known and cells[key] < K}


def _line_members(cells: dict[Key, int], dimension: int) -> dict[Key, list[Key]]:
    members: dict[Key, list[Key]] = {}
    for key in cells:
        members.setdefault(key[:dimension] + key[dimension + 1 :], []).append(key)
    return members


@pytest.mark.parametrize(
    ("cells", "hidden"),
    [
        # One small cell: the next-smallest goes with it (else total - others gives it).
        ({("a",): 10, ("b",): 3, ("c",): 7, ("d",): 6}, {("b",), ("d",)}),
        # Two small cells already hide each other.
        ({("a",): 10, ("b",): 3, ("c",): 2}, {("b",), ("c",)}),
        # Nothing small, nothing hidden.
        ({("a",): 10, ("b",): 5}, set()),
        # The only cell of a line is its margin: small there too, hidden by that query.
        ({("a",): 3}, {("a",)}),
        # Ties break on the key, so that the answer is the same on every call.
        ({("a",): 1, ("b",): 8, ("c",): 8}, {("a",), ("b",)}),
    ],
)
def test_one_dimension_hides_the_next_smallest_cell_with_a_small_one(cells, hidden) -> None:
    assert suppressed_cells(cells, dimensions=1, min_cell=K) == hidden


def test_two_dimensions_hide_in_the_row_then_in_each_column_it_touched() -> None:
    cells = {
        ("female", "01"): 2,  # small
        ("female", "02"): 8,
        ("female", "03"): 9,
        ("male", "01"): 7,
        ("male", "02"): 6,
        ("male", "03"): 12,
    }

    hidden = suppressed_cells(cells, dimensions=2, min_cell=K)

    # Row female: 02 (8 < 9); column 01: male 01; column 02: male 02; row male then
    # holds two hidden cells, and every line holds none or two.
    assert hidden == {("female", "01"), ("female", "02"), ("male", "01"), ("male", "02")}
    assert _recovered(cells, hidden, 2) == set()


def _unguardable(cells: dict[Key, int], dimensions: int) -> set[Key]:
    """Small cells no suppression in this table can guard: a line of theirs has no other
    cell but ones alone in another line, whose margin (another query's cell) tells them."""
    alone = {
        keys[0]
        for dimension in range(dimensions)
        for keys in _line_members(cells, dimension).values()
        if len(keys) == 1
    }
    return {
        key
        for dimension in range(dimensions)
        for keys in _line_members(cells, dimension).values()
        for key in keys
        if cells[key] < K
        and len(keys) > 1
        and all(other in alone for other in keys if other != key)
    }


def _random_table(seed: int) -> tuple[dict[Key, int], int]:
    generator = random.Random(seed)
    dimensions = generator.randint(1, 3)
    values = [[f"v{index}" for index in range(generator.randint(1, 4))] for _ in range(dimensions)]
    cells: dict[Key, int] = {}
    for _ in range(generator.randint(1, 30)):
        key = tuple(generator.choice(options) for options in values)
        cells[key] = generator.choice([1, 2, 3, 4, 5, 6, 9, 20, 50])
    return cells, dimensions


@pytest.mark.parametrize("seed", range(200))
def test_no_row_column_or_total_of_a_random_table_gives_a_hidden_cell_away(seed) -> None:
    cells, dimensions = _random_table(seed)

    hidden = suppressed_cells(cells, dimensions=dimensions, min_cell=K)

    assert {key for key, persons in cells.items() if persons < K} <= hidden
    lines = [keys for d in range(dimensions) for keys in _line_members(cells, d).values()]
    for keys in [*lines, list(cells)]:  # every row, column, ... and the whole table
        assert len(keys) == 1 or sum(key in hidden for key in keys) != 1, keys
    if dimensions == 1:  # the total is the only margin: nothing more to be told
        assert _recovered(cells, hidden, dimensions) == set()


def test_a_small_cell_alone_in_its_row_and_column_is_not_the_total_less_the_rest() -> None:
    cells = {("female", "01"): 9, ("female", "03"): 7, ("male", "02"): 2}

    hidden = suppressed_cells(cells, dimensions=2, min_cell=K)

    # 18 - 9 - 7 would be the two men of province 02: the next-smallest cell goes too,
    # and then the women's row would give it away (16 women less 9): all three go.
    assert hidden == set(cells)


def test_a_cell_whose_line_mates_other_queries_tell_is_beyond_the_tables_reach() -> None:
    """The limit of suppressing each answer on its own: province 03's six persons are all
    women, so ``group_by=province`` tells the hidden (female, 03), and the one woman of
    province 02 is then the ``group_by=sex`` women less it. No cell of this table can
    guard her; the line rule still hides both."""
    cells = {("female", "02"): 1, ("female", "03"): 6, ("male", "01"): 9, ("male", "04"): 2}

    hidden = suppressed_cells(cells, dimensions=2, min_cell=K)

    assert hidden == set(cells)
    assert (
        _recovered(cells, hidden, 2)
        == _unguardable(cells, 2)
        == {
            ("female", "02"),
            ("male", "04"),
        }
    )


def _woman(person: str, agency: str) -> CountedRecord:
    return CountedRecord(
        person_id=person,
        encounter_date=date(2026, 3, 2),
        sex="female",
        age_band="18_to_24",
        nationality="KHM",
        purposes=(),
        agency=agency,
        province="02",
        decision_stage="identified",
    )


def test_the_table_shows_neither_the_small_cell_nor_its_complement() -> None:
    rows = [
        *(_woman(f"police-{n}", "moi-dahtjp") for n in range(9)),
        *(_woman(f"ngo-{n}", "ngo-shelter-a") for n in range(6)),
        *(_woman(f"mowa-{n}", "mowa") for n in range(2)),
    ]

    table = tabulate(rows, group_by=[Dimension.AGENCY], period=Period.YEAR, min_cell=K)

    assert (table.total.records, table.total.persons) == (17, 17)
    shown = {group["agency"]: count.persons for group, count in table.cells}
    # 17 - 9 = 8 persons between mowa and ngo-shelter-a: no way to tell 2 from 6.
    assert shown == {"moi-dahtjp": 9, "mowa": None, "ngo-shelter-a": None}
