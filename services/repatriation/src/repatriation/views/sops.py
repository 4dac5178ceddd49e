"""The bilateral procedures loaded, and the border points they hand over at."""

from __future__ import annotations

from nrm_contracts.events.repatriation import Direction
from repatriation.context import Repatriation
from repatriation.schemas.sops import BorderPointPublic, SopSummary


def sop_summaries(context: Repatriation) -> list[SopSummary]:
    """Every version of every template loaded."""
    return [
        SopSummary(
            id=template.id,
            version=template.version,
            title=template.title,
            counterpart_country=template.counterpart_country,
            status=template.status,
            effective_from=template.effective_from,
            directions=[d for d in Direction if template.procedure(d) is not None],
        )
        for template in context.library.templates
    ]


def border_points(context: Repatriation) -> list[BorderPointPublic]:
    """The border points by code, each with the procedures that name it; a point named by
    several procedures is listed once."""
    points: dict[tuple[str, str], BorderPointPublic] = {}
    for template in context.library.templates:
        for point in template.border_points:
            key = (point.code, template.counterpart_country)
            listed = points.setdefault(
                key,
                BorderPointPublic(
                    code=point.code,
                    name=point.name,
                    province_code=point.province_code,
                    counterpart_country=template.counterpart_country,
                    reception_organisation=point.reception_organisation,
                    sops=[],
                ),
            )
            listed.sops.append(f"{template.id}@{template.version}")
    return sorted(points.values(), key=lambda point: (point.counterpart_country, point.code))
