"""The Buddhist-era year (ពុទ្ធសករាជ, BE) that Khmer dates carry beside the Gregorian one.

Cambodia counts the Buddhist era from the Buddha's parinibbana, and the BE year begins
the day after Visak Bochea (the full moon, 15 កើត, of the month ពិសាខ, between late
April and late May): BE = CE + 543 until Visak Bochea, CE + 544 from the next day. So
"BE = CE + 543", as in Thailand's official calendar (which changes on 1 January), is right
for Cambodia only in the first four or five months of a year: 7 December 2026 is BE 2570.

Sources: the day of change and the examples, "Les trois calendriers khmers"
(apprendre-la-langue-khmere-lecons-t2.e-monsite.com: "Elle commence le lendemain de la
Pleine Lune du mois lunaire Pissäk", 23 May 2024 beginning BE 2568); the dates of Visak
Bochea below were computed with the Chhankitek (lunisolar) arithmetic of the momentkh
library 2.0 (github.com/ThyrithSor/momentkh, MIT, after Roath Kim Soeun's "Pratitin
Soryakkatik-Chankatik"), and checked against that project's 1,349 reference conversions
for 1900-2100 (test/conversion.json: every BE year agrees) and the public holidays of
recent years (Visak Bochea 4 May 2023, 22 May 2024, 11 May 2025).
"""

from __future__ import annotations

from datetime import date

FIRST_YEAR = 1900
# Visak Bochea of each year from FIRST_YEAR, as MMDD.
VISAK_BOCHEA = """
    0513 0502 0521 0511 0429 0518 0507 0427 0515 0504 0523 0512 0501 0520 0509 0428 0516
    0505 0425 0514 0502 0521 0510 0430 0518 0507 0426 0515 0504 0523 0512 0501 0519 0509
    0428 0517 0505 0424 0513 0503 0521 0510 0429 0518 0507 0426 0515 0504 0522 0512 0501
    0520 0508 0427 0516 0506 0424 0513 0502 0521 0510 0429 0518 0507 0426 0515 0504 0523
    0511 0501 0520 0509 0427 0516 0506 0425 0513 0502 0521 0511 0429 0518 0507 0426 0514
    0504 0523 0512 0430 0519 0509 0428 0516 0505 0524 0514 0502 0521 0510 0429 0517 0507
    0426 0515 0503 0522 0512 0501 0519 0508 0428 0517 0505 0524 0513 0502 0520 0510 0429
    0518 0506 0426 0515 0504 0522 0511 0501 0520 0508 0427 0516 0506 0524 0513 0502 0521
    0510 0429 0518 0507 0425 0514 0504 0523 0511 0430 0519 0509 0427 0516 0505 0524 0513
    0502 0521 0510 0428 0517 0507 0426 0514 0503 0522 0512 0430 0519 0508 0428 0516 0505
    0524 0513 0502 0521 0510 0429 0517 0507 0426 0515 0503 0522 0511 0501 0519 0508 0427
    0516 0505 0524 0513 0502 0520 0510 0429 0518 0506 0425 0514 0504 0523
""".split()  # noqa: SIM905 (a table to read, not 201 quoted strings)
LAST_YEAR = FIRST_YEAR + len(VISAK_BOCHEA) - 1


def visak_bochea(year: int) -> date | None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    day = VISAK_BOCHEA[year - FIRST_YEAR]
    return date(year, int(day[:2]), int(day[2:]))


def buddhist_era_year(day: date) -> int | None:
    """The BE year of ``day`` in Cambodian usage; None outside the years tabulated
    (no guess: a wrong year on an official record is worse than none)."""
    full_moon = visak_bochea(day.year)
    if full_moon is None:
        return None
    return day.year + (544 if day > full_moon else 543)
