"""Auditor: each service's audit log (who read or changed what, when, why) and whether
its chain is intact (the service verifies its entries against its signed heads)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.context import context_of
from console.pages.guard import signed_in
from console.pages.rendering import render

router = APIRouter(include_in_schema=False)

AUDITOR = "auditor"
AUDITED_SERVICES = ("identification", "referral", "repatriation")
ENTRY_LIMIT = "100"


@router.get("/audit")
async def audit_log(
    request: Request, service: str = "identification", cursor: str | None = None
) -> Response:
    _, user = signed_in(request, AUDITOR)
    service = service if service in AUDITED_SERVICES else "identification"
    backbone = context_of(request).backbone
    chain = await backbone.get(user.access_token, service, "/audit/chain")
    paging = {"limit": ENTRY_LIMIT, **({"cursor": cursor} if cursor else {})}
    page = await backbone.get(user.access_token, service, "/audit", **paging)
    return render(
        request,
        "audit.html",
        {
            "chain": chain,
            "entries": page["items"],
            "next_cursor": page["next_cursor"],
            "service": service,
            "services": AUDITED_SERVICES,
        },
    )
