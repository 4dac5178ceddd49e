"""The simulated agency's side of a case: read the case, complete our allowed step."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from nrm_contracts.events.repatriation import Direction
from repatriation.domain.signing import SENDER_HEADER, signed_headers
from repatriation.domain.sop import SopLibrary

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 5


@dataclass
class Counterpart:
    """Who the simulator plays and how it reaches the NRM's liaison API."""

    country: str
    nrm_url: str
    secret: str
    token: Callable[[], str]
    library: SopLibrary
    delay: float = 0.0
    refuse: frozenset[str] = frozenset()
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def call(
        self, client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """A signed call to the liaison API; a message is retried with its own key."""
        content = b"" if body is None else json.dumps(body).encode()
        key = str(uuid.uuid4())
        response: httpx.Response | None = None
        for attempt in range(SEND_ATTEMPTS):
            headers = {
                "Authorization": f"Bearer {self.token()}",
                "Content-Type": "application/json",
                SENDER_HEADER: self.country,
                **signed_headers(self.secret, content, now=time.time(), idempotency_key=key),
            }
            try:
                response = await client.request(
                    method, f"{self.nrm_url}{path}", content=content, headers=headers
                )
            except httpx.HTTPError:
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            if response.status_code < 500:
                return response
            await asyncio.sleep(0.2 * 2**attempt)
        if response is None:
            raise httpx.ConnectError(f"NRM unreachable at {self.nrm_url}")
        return response

    async def play(self, client: httpx.AsyncClient, case_id: str) -> list[str]:
        """Complete our country's allowed steps of ``case_id`` one after the other;
        return the steps completed."""
        lock = self._locks.setdefault(case_id, asyncio.Lock())
        completed: list[str] = []
        async with lock:
            while True:
                await asyncio.sleep(self.delay)
                case = await self.call(client, "GET", f"/liaison/cases/{case_id}")
                if case.status_code != 200:
                    log.warning("case not readable", extra={"status": case.status_code})
                    return completed
                view = case.json()
                ours = [
                    step
                    for step in view["allowed_steps"]
                    if step["acting_country"] == self.country and step["step"] not in self.refuse
                ]
                if not ours:
                    return completed
                step = ours[0]
                answer = await self.call(
                    client,
                    "POST",
                    f"/liaison/cases/{case_id}/steps",
                    {
                        "step": step["step"],
                        "documents": step["required_documents"],
                        "details": self.details(view, step),
                    },
                )
                if answer.status_code != 201:
                    log.warning("step refused", extra={"status": answer.status_code})
                    return completed
                completed.append(step["step"])

    def details(self, view: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
        """Plausible values of the details the step requires."""
        handover = view["handover"]
        values: dict[str, Any] = {}
        for name in step["required_details"]:
            if name == "contact_name":
                values[name] = f"Duty officer, {step['agency']}"
            elif name == "handover_date":
                values[name] = (
                    handover["handover_date"] or (date.today() + timedelta(days=7)).isoformat()
                )
            elif name == "border_point":
                values[name] = handover["border_point"] or self._first_border_point(view)
            elif name == "reintegration_status":
                values[name] = "with_family"
        return values

    def _first_border_point(self, view: dict[str, Any]) -> str | None:
        template = self.library.get(view["sop"]["id"], view["sop"]["version"])
        if template is None or template.procedure(Direction(view["direction"])) is None:
            return None
        return template.border_points[0].code
