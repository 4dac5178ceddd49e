"""The chaos suite's load: an open-loop stream of screenings and decisions.

Open loop: a victim's screening starts on schedule, whether or not earlier requests
have answered, so a stalled backbone shows as failures and delays instead of slowing
the client down. Each victim is screened (with a guardian's consent to referral) and,
once the screening is acknowledged, presumed by the Competent Authority: the decision
acknowledged (201) is the promise the referral service must keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

SYLLABLES = ("so", "kha", "da", "ra", "vi", "chea", "sre", "pi", "seth", "ma", "ly", "no", "ri")
FAMILY_NAMES = ("Chan", "Sok", "Kim", "Heng", "Meas", "Prak", "Long", "Yin", "Chea", "Ouk")
REQUEST_TIMEOUT_SECONDS = 30.0
DECISION = {"stage": "preliminary", "outcome": "identified", "rationale": "chaos suite"}


@dataclass
class Decision:
    """One victim of the load: when the decision was sent and acknowledged (wall clock)."""

    case_id: str
    sent_at: float
    acknowledged_at: float | None = None
    status: int | None = None  # HTTP status, None if no answer


def screening(rng: random.Random) -> dict[str, object]:
    """A screening of a presumed child victim with a guardian's consent to referral;
    names vary, so the person index grows as it would in the field."""
    given = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
    return {
        "person": {
            "given_name": given,
            "family_name": rng.choice(FAMILY_NAMES),
            "sex": rng.choice(["female", "male"]),
            "estimated_age": rng.randint(10, 17),
            "nationality": "KHM",
        },
        "encounter": {
            "type": "police_operation",
            "date": date.today().isoformat(),
            "province_code": "02",
        },
        "indicators": {"acts": ["harbouring"], "purposes": ["sexual_exploitation"]},
        "consents": [{"purpose": "referral", "given": True, "basis": "guardian"}],
    }


class Load:
    """Victims screened and decided at ``rate`` per second until :meth:`stop`."""

    def __init__(self, identification_url: str, keys_dir: Path, rate: float, seed: int = 18):
        from nrm_runtime.devtokens import mint_token

        self.url = identification_url
        self.rate = rate
        self.factor = 1.0  # a burst multiplies the rate
        self.rng = random.Random(seed)
        self.screener = mint_token(
            organisation="moi-dahtjp", roles=["screener"], directory=keys_dir
        )
        self.authority = mint_token(
            organisation="mosvy", roles=["competent_authority"], directory=keys_dir
        )
        self.screenings_sent = 0
        self.screenings_failed = 0
        self.decisions: list[Decision] = []
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Start victims on schedule until stopped; then wait for those under way."""
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS, limits=limits) as client:
            next_at = time.monotonic()
            while not self._stopping.is_set():
                task = asyncio.create_task(self._victim(client))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                next_at += 1.0 / (self.rate * self.factor)
                delay = next_at - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        self._stopping.set()

    def _headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def _victim(self, client: httpx.AsyncClient) -> None:
        self.screenings_sent += 1
        try:
            screened = await client.post(
                f"{self.url}/screenings",
                json=screening(self.rng),
                headers=self._headers(self.screener),
            )
        except httpx.HTTPError:
            self.screenings_failed += 1
            return
        if screened.status_code != 201:
            self.screenings_failed += 1
            return
        decision = Decision(case_id=str(screened.json()["case_id"]), sent_at=time.time())
        self.decisions.append(decision)
        try:
            decided = await client.post(
                f"{self.url}/cases/{decision.case_id}/decisions",
                json=DECISION,
                headers=self._headers(self.authority),
            )
        except httpx.HTTPError:
            return
        decision.status = decided.status_code
        if decided.status_code == 201:
            decision.acknowledged_at = time.time()

    def acknowledged(self) -> list[Decision]:
        return [d for d in self.decisions if d.acknowledged_at is not None]
