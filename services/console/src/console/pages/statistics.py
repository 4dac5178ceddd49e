"""Analyst: unique persons against records, by period, sex, age band or province, as
bar charts drawn on the server (SVG, no script); suppressed cells shown as such.

The identification service counts and suppresses small cells; the console only draws
what it answers, so an analyst never sees a name (there is none in the answer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.context import context_of
from console.pages.guard import signed_in
from console.pages.rendering import render

router = APIRouter(include_in_schema=False)

READERS = ("analyst", "competent_authority")
DIMENSION_TITLES = {
    "period": "Period",
    "sex": "Sex",
    "age_band": "Age band",
    "province": "Province",
}
PERIOD_TITLES = {"year": "Year", "quarter": "Quarter", "month": "Month"}
DIMENSIONS = tuple(DIMENSION_TITLES)
PERIODS = tuple(PERIOD_TITLES)
BAR_WIDTH = 240  # the SVG's width for the largest count


def bars(cells: list[dict[str, Any]], dimension: str) -> list[dict[str, Any]]:
    """Each cell as a chart row: its key, both counts and their bar lengths."""
    largest = max((c["records"] or 0 for c in cells), default=0) or 1
    rows = []
    for cell in sorted(cells, key=lambda c: str(c["group"].get(dimension, ""))):
        records, persons = cell["records"], cell["persons"]
        rows.append(
            {
                "key": cell["group"].get(dimension, ""),
                "records": records,
                "persons": persons,
                "suppressed": cell["suppressed"],
                "records_width": round(BAR_WIDTH * (records or 0) / largest),
                "persons_width": round(BAR_WIDTH * (persons or 0) / largest),
            }
        )
    return rows


@router.get("/statistics")
async def statistics(request: Request, group_by: str = "sex", period: str = "year") -> Response:
    _, user = signed_in(request, *READERS)
    group_by = group_by if group_by in DIMENSIONS else "sex"
    period = period if period in PERIODS else "year"
    table = await context_of(request).backbone.get(
        user.access_token, "identification", "/statistics/victims", group_by=group_by, period=period
    )
    return render(
        request,
        "statistics.html",
        {
            "table": table,
            "rows": bars(table["cells"], group_by),
            "group_by": group_by,
            "period": period,
            "dimensions": DIMENSIONS,
            "periods": PERIODS,
            "bar_width": BAR_WIDTH,
            "dimension_titles": DIMENSION_TITLES,
            "period_titles": PERIOD_TITLES,
        },
    )
