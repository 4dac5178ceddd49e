"""A screening recorded in identification, then presumed a victim by the Competent
Authority with consent to referral, opens exactly one referral case in referral, across a
real broker and real service processes."""

from __future__ import annotations

import httpx

from nrm_deploy.testing import bearer, eventually, on_both_engines, screening_form

# Every test here on SQLite and on PostgreSQL (production's database).
pytestmark = on_both_engines


def referral_cases(referral_url: str, token: str) -> list[dict[str, object]]:
    response = httpx.get(f"{referral_url}/referral-cases?limit=500", headers=bearer(token))
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


GUARDIAN_CONSENT = [{"purpose": "referral", "given": True, "basis": "guardian"}]


def test_a_presumed_victim_opens_a_referral_case(start_service, mint) -> None:
    identification = start_service("identification")
    referral = start_service("referral", wait_for="/readyz")

    recorded = httpx.post(
        f"{identification.url}/screenings",
        json={**screening_form(), "consents": GUARDIAN_CONSENT},
        headers=bearer(mint("moi-dahtjp", "screener")),
    )
    assert recorded.status_code == 201, recorded.text
    decided = httpx.post(
        f"{identification.url}/cases/{recorded.json()['case_id']}/decisions",
        json={"stage": "preliminary", "outcome": "identified", "rationale": "reasonable grounds"},
        headers=bearer(mint("mosvy", "competent_authority")),
    )

    assert decided.status_code == 201, decided.text
    coordinator = mint("mosvy", "case_manager")
    cases = eventually(lambda: referral_cases(referral.url, coordinator))
    assert isinstance(cases, list) and len(cases) == 1
    assert cases[0]["identification_case_id"] == recorded.json()["case_id"]
    assert cases[0]["status"] == "open"


def test_all_four_services_answer_health_and_docs(start_service) -> None:
    for name in ("identification", "referral", "shelter-registry", "repatriation"):
        service = start_service(name)
        assert httpx.get(f"{service.url}/healthz").status_code == 200
        assert httpx.get(f"{service.url}/openapi.json").json()["info"]["title"].startswith("NRM")
        assert httpx.get(f"{service.url}/docs").status_code == 200
