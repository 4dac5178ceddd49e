"""The console in headless Chromium against the real services and broker: the journeys
people take, in English and in Khmer, each page checked with axe-core (no serious or
critical violation) and under the Content-Security-Policy (none reported), with a
screenshot of each page in var/console/screenshots/.

The stack is started once for the module (conftest.py); each test signs in afresh in its
own browser context. What a journey starts from (a screened and decided case) is set up
through the services' APIs, as another agency would have done it."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from nrm_deploy.testing import eventually
from nrm_runtime.settings import repo_root

pytestmark = pytest.mark.broker

AXE_SCRIPT = repo_root() / ".tools" / "console" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = repo_root() / "var" / "console" / "screenshots"
# The screenshots the documentation shows (docs/console/), written again when
# NRM_CONSOLE_DOCS_SCREENSHOTS=1 (services/console/tools/docs-screenshots.sh): the
# visible part of the page only, so that each stays a small PNG.
DOCS_SCREENSHOTS = repo_root() / "docs" / "console"
DOCS_PAGES = {"screening-form-en", "screening-result-km", "inbox-km", "registry-en"}
DOCS_BUDGET_BYTES = 150 * 1024
SERIOUS = {"serious", "critical"}
KHMER_FONT = '16px "Noto Sans Khmer"'
PAGE_BUDGET_BYTES = 100 * 1024
CONSENT = [{"purpose": "referral", "given": True, "basis": "guardian"}]


# --- what a test does on a page --------------------------------------------------------


def sign_in(page: Any, base: str, organisation: str, role: str) -> None:
    """Through the dev issuer's page, as a person would (code flow with PKCE)."""
    page.goto(f"{base}/signin")
    page.select_option("#organisation", organisation)
    page.select_option("#role", role)
    page.click("form[action='/dev-issuer/authorize'] button[type=submit]")
    page.wait_for_url(f"{base}/")


def signed_in(
    new_page: Any,
    stack: Any,
    organisation: str,
    role: str,
    *,
    phone: bool = False,
    khmer: bool = False,
) -> Any:
    """A new browser page (desktop, or phone-sized), signed in, in Khmer if asked."""
    page = new_page() if phone else new_page(1280, 900)
    sign_in(page, stack.url, organisation, role)
    if khmer:
        switch_to_khmer(page)
    return page


def switch_to_khmer(page: Any) -> None:
    page.click("form.language button[value=km]")
    page.wait_for_selector("html[lang=km]")


def assert_accessible(page: Any) -> None:
    """axe-core run in the page: no serious or critical violation; and no CSP report."""
    page.evaluate(AXE_SCRIPT.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]
    assert serious == [], json.dumps(serious, indent=1)
    assert page.csp_violations == []


def khmer_font_loaded(page: Any) -> bool:
    page.evaluate("async () => { await document.fonts.ready; }")
    return bool(
        page.evaluate(
            f"""async () => {{
              await document.fonts.load('{KHMER_FONT}', 'ក');
              return document.fonts.check('{KHMER_FONT}', 'ក');
            }}"""
        )
    )


def page_weight(page: Any) -> dict[str, float]:
    """Bytes transferred for the page (document and every resource) and its load time."""
    measured: dict[str, float] = page.evaluate(
        """() => {
          const [nav] = performance.getEntriesByType('navigation');
          const size = (e) => e.transferSize || e.encodedBodySize || 0;
          const resources = performance.getEntriesByType('resource');
          return {
            bytes: size(nav) + resources.reduce((sum, e) => sum + size(e), 0),
            html_bytes: size(nav),
            load_ms: nav.loadEventEnd - nav.startTime,
          };
        }"""
    )
    return measured


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if name in DOCS_PAGES and os.environ.get("NRM_CONSOLE_DOCS_SCREENSHOTS") == "1":
        kept = DOCS_SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(kept), full_page=False, animations="disabled", caret="hide")
        assert kept.stat().st_size < DOCS_BUDGET_BYTES, f"{kept.name} is too large for the docs"


def checked(page: Any, name: str) -> None:
    """Every page a journey shows: accessible, within budget, kept as a screenshot."""
    page.wait_for_load_state("load")
    assert_accessible(page)
    weight = page_weight(page)
    print(f"\n{name}: {weight['bytes'] / 1024:.1f} kB, loaded in {weight['load_ms']:.0f} ms")
    assert weight["bytes"] < PAGE_BUDGET_BYTES
    screenshot(page, name)


def fill_screening(page: Any, *, birth_date: str = "") -> None:
    page.fill("[name='person.given_name']", "Sokha")
    page.fill("[name='person.family_name']", "Chan")
    page.select_option("[name='person.sex']", "female")
    page.fill("[name='person.estimated_age']", "16")
    if birth_date:
        page.fill("[name='person.birth_date']", birth_date)
    page.select_option("[name='encounter.type']", "police_operation")
    page.select_option("[name='encounter.province_code']", "12")
    page.check("input[name='indicators.acts'][value='harbouring']")
    page.check("input[name='indicators.purposes'][value='sexual_exploitation']")
    page.select_option("[name='consent.referral']", "guardian")


# --- what a journey starts from, through the APIs --------------------------------------


def screened_and_presumed(stack: Any) -> str:
    """A girl screened by the police and presumed a victim: her referral case's id."""
    screening = {
        "person": {
            "given_name": "Chanthy",
            "family_name": "Mao",
            "sex": "female",
            "estimated_age": 15,
            "nationality": "KHM",
        },
        "encounter": {
            "type": "police_operation",
            "date": date.today().isoformat(),
            "province_code": "12",
        },
        "indicators": {"acts": ["harbouring"], "purposes": ["sexual_exploitation"]},
        "consents": CONSENT,
    }
    screened = stack.call(
        ("moi-dahtjp", "screener"),
        "POST",
        stack.identification,
        "/screenings",
        json=screening,
    )
    stack.call(
        ("mosvy", "competent_authority"),
        "POST",
        stack.identification,
        f"/cases/{screened['case_id']}/decisions",
        json={"stage": "preliminary", "outcome": "identified", "rationale": "grounds"},
    )

    def opened() -> str | None:
        coordinator = ("mosvy", "case_manager")
        cases = stack.call(coordinator, "GET", stack.referral, "/referral-cases?limit=500")
        found = [
            c["id"] for c in cases["items"] if c["identification_case_id"] == screened["case_id"]
        ]
        return found[0] if found else None

    return str(eventually(opened, timeout=60))


# --- the journeys ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "km"])
def test_first_responder_screens_and_sees_the_presumptive_result(
    console_stack: Any, new_page: Any, language: str
) -> None:
    page = signed_in(new_page, console_stack, "moi-dahtjp", "screener", phone=True)
    if language == "km":
        switch_to_khmer(page)
    page.click("a[href='/screenings/new']")
    checked(page, f"screening-form-{language}")

    # A birth date in the future: refused by the service, shown next to its field.
    fill_screening(page, birth_date=(date.today() + timedelta(days=30)).isoformat())
    page.click("form[action='/screenings'] button[type=submit]")
    error = page.locator("[id='person.birth_date-error']")
    expected = "ថ្ងៃកំណើតស្ថិតនៅពេលអនាគត" if language == "km" else "the birth date is in the future"
    assert error.inner_text() == expected
    assert page.input_value("[name='person.given_name']") == "Sokha"  # nothing typed is lost
    checked(page, f"screening-refused-{language}")

    page.fill("[name='person.birth_date']", "")
    page.click("form[action='/screenings'] button[type=submit]")
    result = page.inner_text("#result")
    assert result == ("សន្មតថាជាជនរងគ្រោះ" if language == "km" else "Presumed victim")
    if language == "km":
        assert "harbouring" not in page.inner_text("table.elements")  # the answers in Khmer
        assert khmer_font_loaded(page)
    checked(page, f"screening-result-{language}")


def test_competent_authority_decides_a_case_from_the_queue(
    console_stack: Any, new_page: Any
) -> None:
    screened = console_stack.call(
        ("moi-dahtjp", "screener"),
        "POST",
        console_stack.identification,
        "/screenings",
        json={
            "person": {
                "given_name": "Vannak",
                "family_name": "Sok",
                "sex": "male",
                "estimated_age": 30,
            },
            "encounter": {
                "type": "border_or_deportation_screening",
                "date": date.today().isoformat(),
                "province_code": "01",
            },
            "indicators": {
                "acts": ["transport"],
                "means": ["debt_bondage"],
                "purposes": ["forced_labour"],
            },
        },
    )
    page = signed_in(new_page, console_stack, "mosvy", "competent_authority")
    page.click("a[href='/decisions']")
    checked(page, "decision-queue-en")
    page.click(f"a[href='/decisions/{screened['case_id']}']")
    assert "Vannak" in page.inner_text("main")  # the Competent Authority sees the person

    # Grounds missing: the service's 422 is shown next to the field.
    page.select_option("[name=outcome]", "identified")
    page.click("form[action^='/decisions/'] button[type=submit]")
    assert page.locator("#rationale-error").is_visible()
    checked(page, "decision-case-en")

    page.fill("#rationale", "Debt bondage and forced labour on a fishing boat.")
    page.click("form[action^='/decisions/'] button[type=submit]")
    assert page.inner_text("#case-status") == "Presumed victim"


def test_coordinator_refers_and_only_the_addressed_ngo_sees_the_referral(
    console_stack: Any, new_page: Any
) -> None:
    case_id = screened_and_presumed(console_stack)

    coordinator = signed_in(new_page, console_stack, "mosvy", "case_manager")
    coordinator.goto(f"{console_stack.url}/pipeline")
    checked(coordinator, "pipeline-en")
    coordinator.goto(f"{console_stack.url}/pipeline/{case_id}")
    coordinator.check("input[name=needs][value=safe_accommodation]")
    coordinator.select_option("[name=urgency]", "high")

    def candidates() -> int:
        # The referral service's directory fills from the registry's events.
        coordinator.click("form[action$='/assessment'] button[type=submit]")
        return int(coordinator.locator("ol.candidates form.inline").count())

    eventually(candidates, timeout=60, interval=1)
    checked(coordinator, "pipeline-matching-en")
    first_candidate = coordinator.locator("ol.candidates > li").first
    first_candidate.locator("input[name=officer_contact]").fill("+855 12 000 111")
    first_candidate.locator("button[type=submit]").click()
    coordinator.wait_for_selector("[data-state=awaiting_signoff]")

    # The coordinator keeps the pipeline open: the sign-off moves the case along live.
    coordinator.goto(f"{console_stack.url}/pipeline")
    in_column = "section[data-column={}] a[href='/pipeline/" + case_id + "']"
    assert coordinator.locator(in_column.format("awaiting_signoff")).count() == 1
    coordinator.evaluate("window.drawnOnce = true")

    referral = console_stack.call(
        ("mosvy", "case_manager"),
        "GET",
        console_stack.referral,
        f"/referral-cases/{case_id}/referrals",
    )[-1]
    addressed = referral["organisation_id"]
    other = "ngo-kdei" if addressed != "ngo-kdei" else "ngo-chantrea"

    # The NGO has its inbox open, in Khmer, before the referral is sent to it.
    ngo = signed_in(new_page, console_stack, addressed, "provider_staff", phone=True, khmer=True)
    ngo.goto(f"{console_stack.url}/inbox")
    card = ngo.locator(f"#referral-{referral['id']}")
    assert card.count() == 0
    ngo.evaluate("window.drawnOnce = true")

    officer = signed_in(new_page, console_stack, "mosvy", "competent_authority")
    officer.goto(f"{console_stack.url}/pipeline/{case_id}")
    officer.click("form[action$='/sign-off'] button")
    officer.wait_for_selector("[data-state=sent]")

    # Live: the referral appears in the open inbox without a reload (server-sent events),
    # and the coordinator's pipeline shows it sent, without a reload either.
    card.wait_for(timeout=20_000)
    coordinator.locator(in_column.format("sent")).wait_for(timeout=20_000)
    assert coordinator.evaluate("window.drawnOnce") is True
    assert coordinator.locator(in_column.format("awaiting_signoff")).count() == 0
    assert ngo.evaluate("window.drawnOnce") is True
    assert card.get_attribute("data-state") == "sent"
    assert "Chanthy" not in ngo.content()  # no name before acceptance
    assert khmer_font_loaded(ngo)
    checked(ngo, "inbox-km")
    card.locator("form[action$='/accept'] button").click()
    ngo.locator(f"#referral-{referral['id']}[data-state=accepted]").wait_for()
    ngo.locator(f"#referral-{referral['id']} form[action$='/admit'] button").click()
    ngo.locator(f"#referral-{referral['id']}[data-state=admitted]").wait_for()
    assert ngo.locator("#beds").is_visible()  # its own facilities' beds, below the list
    checked(ngo, "inbox-admitted-km")

    # Discharged, reintegrated: the follow-up visits are scheduled; one is recorded.
    ngo.select_option(f"#exit-{referral['id']}", "reintegrated")
    card.locator("form[action$='/exit'] button").click()
    ngo.locator(f"#referral-{referral['id']}[data-state=exited]").wait_for()
    scheduled = card.locator("ul.visits form").count()
    assert scheduled >= 1
    visit = card.locator("ul.visits form").first
    visit.locator("input[name=visited_on]").fill(date.today().isoformat())
    visit.locator("input[name=notes]").fill("Back with her family, at school.")
    with ngo.expect_navigation():
        visit.locator("button").click()
    assert card.locator("ul.visits form").count() == scheduled - 1

    # Its beds: one more in its first facility.
    form = ngo.locator("#beds form").first
    action = form.get_attribute("action")
    total = int(form.locator("input[name=beds_total]").input_value())
    form.locator("input[name=beds_total]").fill(str(total + 1))
    with ngo.expect_navigation():
        form.locator("button").click()
    saved = ngo.locator(f"#beds form[action='{action}'] input[name=beds_total]")
    assert int(saved.input_value()) == total + 1
    checked(ngo, "inbox-follow-up-km")

    stranger = signed_in(new_page, console_stack, other, "provider_staff", phone=True)
    stranger.goto(f"{console_stack.url}/inbox")
    assert stranger.locator(f"#referral-{referral['id']}").count() == 0
    assert referral["id"] not in stranger.content()
    # Acting on it by its id: the referral service answers 404, as for any unknown id.
    csrf = stranger.locator("form[action='/signout'] [name=csrf]").input_value()
    refused = stranger.request.post(
        f"{console_stack.url}/inbox/{referral['id']}/exit",
        form={"csrf": csrf, "exit_reason": "left"},
    )
    assert refused.status == 422
    assert "Not found, or not yours to see." in refused.text()


POPULATION_NAMES = [
    ("Rithy", "Pheakdey"), ("Bunthoeun", "Mao"), ("Vuthy", "Ouk"), ("Sreyneang", "Tep"),
    ("Dara", "Yim"), ("Kosal", "Nhem"), ("Phalla", "Ros"), ("Veasna", "Long"),
    ("Sophal", "Khieu"), ("Thida", "Hem"), ("Narin", "Pov"), ("Chenda", "Sim"),
]  # fmt: skip


def screen(stack: Any, organisation: str, person: dict[str, Any], **encounter: str) -> Any:
    form = {
        "person": {"sex": "female", "nationality": "KHM", **person},
        "encounter": {
            "type": "ngo_outreach",
            "date": "2026-11-02",
            "province_code": "02",
            **encounter,
        },
    }
    return stack.call(
        (organisation, "screener"),
        "POST",
        stack.identification,
        "/screenings",
        json=form,
    )


def test_competent_authority_compares_a_possible_duplicate_and_confirms_it(
    console_stack: Any, new_page: Any
) -> None:
    # The index knows a few persons (a name's weight is how rare it is among them), then
    # the same name arrives without a birth date, from elsewhere: maybe one person.
    for number, (given, family) in enumerate(POPULATION_NAMES):
        screen(
            console_stack,
            "moi-dahtjp",
            {
                "given_name": given,
                "family_name": family,
                "birth_date": f"{1970 + 3 * number}-01-15",
            },
        )
    known = screen(
        console_stack,
        "moi-dahtjp",
        {"given_name": "Chan", "family_name": "Sok Kha", "birth_date": "2004-03-09"},
    )
    arriving = screen(
        console_stack,
        "ngo-shelter-a",
        {"given_name": "Chann", "family_name": "Sok Kha"},
        province_code="12",
        date="2025-10-20",
    )
    reviewer = ("mosvy", "competent_authority")

    def pair() -> str | None:
        pairs = console_stack.call(
            reviewer, "GET", console_stack.identification, "/persons/review-pairs?limit=100"
        )["items"]
        found = [
            p["id"]
            for p in pairs
            if p["record"]["screening_id"] == arriving["id"]
            and p["candidate"]["screening_id"] == known["id"]
        ]
        return found[0] if found else None

    pair_id = eventually(pair, timeout=30)
    page = signed_in(new_page, console_stack, "mosvy", "competent_authority", khmer=True)
    page.click("a[href='/reviews']")
    checked(page, "review-queue-km")
    page.click(f"a[href='/reviews/{pair_id}']")
    compared = page.inner_text("table.compare")
    assert "Chann" in compared and "Chan" in compared  # both records, side by side
    checked(page, "review-pair-km")
    page.click("form[action$='/confirm'] button")
    assert page.inner_text("#pair-status") == "បានបញ្ជាក់"


def test_an_analyst_sees_counts_never_a_name(console_stack: Any, new_page: Any) -> None:
    screen(
        console_stack,
        "moi-dahtjp",
        {"given_name": "Sreymom", "family_name": "Keo", "estimated_age": 24},
    )
    page = signed_in(new_page, console_stack, "iom-khm", "analyst")
    page.click("a[href='/statistics']")
    assert int(page.inner_text("#total-persons")) >= 1
    page.select_option("#group_by", "province")
    page.click("form.filters button[type=submit]")
    assert page.locator("table.chart tbody tr").count() >= 1
    content = page.content()
    for name in ("Sreymom", "Keo", "Sokha", "Chanthy", "Vannak"):
        assert name not in content
    checked(page, "statistics-en")


def test_the_registry_shows_free_beds_on_the_map_and_the_gaps(
    console_stack: Any, new_page: Any
) -> None:
    page = signed_in(new_page, console_stack, "mosvy", "case_manager")
    page.goto(f"{console_stack.url}/registry")
    assert page.locator(".map circle").count() >= 5
    assert page.locator("#facilities tbody tr").count() >= 5
    assert page.locator("#gaps li, #province-gaps tbody tr").count() >= 1
    checked(page, "registry-en")
    switch_to_khmer(page)
    checked(page, "registry-km")


def test_an_auditor_reads_the_log_and_its_chain_is_intact(
    console_stack: Any, new_page: Any
) -> None:
    page = signed_in(new_page, console_stack, "mosvy", "auditor")
    page.click("a[href='/audit']")
    assert "intact" in page.inner_text("#chain")
    checked(page, "audit-en")


def test_a_repatriation_officer_follows_a_case_by_its_sop(
    console_stack: Any, new_page: Any
) -> None:
    # A Vietnamese girl identified in Cambodia: MOSVY proposes her return (the SOP of 2009).
    opened = console_stack.call(
        ("mosvy", "case_manager"),
        "POST",
        console_stack.repatriation,
        "/cases",
        json={
            "identification_case_id": str(uuid.uuid4()),
            "counterpart_country": "VNM",
            "person": {
                "given_name": "Lan",
                "family_name": "Nguyen",
                "sex": "female",
                "estimated_age": 16,
            },
            "consent_to_return": {
                "status": "given",
                "basis": "guardian",
                "recorded_on": date.today().isoformat(),
            },
        },
    )
    page = signed_in(new_page, console_stack, "mosvy", "liaison_officer", khmer=True)
    page.click("a[href='/repatriation']")
    checked(page, "repatriation-km")
    page.click(f"a[href='/repatriation/{opened['id']}']")
    assert page.locator("#allowed-steps li.card").count() >= 1  # the SOP's next step, due
    assert page.locator("#consent-form").count() == 0  # a case manager's to change
    checked(page, "repatriation-case-km")

    # Cambodia's first step, sent without its documents: refused next to them.
    step = page.locator("#step-notification form")
    step.locator("button[type=submit]").click()
    error = page.locator("[id='step-notification-documents-error']")
    assert "victim_identification_form" in error.inner_text()
    checked(page, "repatriation-step-refused-km")
    for document in ("victim_identification_form", "consent_to_return"):
        step.locator(f"input[name=documents][value={document}]").check()
    step.locator("button[type=submit]").click()
    page.locator("#step-notification").wait_for(state="detached")
    assert "notification" in page.inner_text("#timeline")

    # Her consent withdrawn, recorded by a MOSVY case manager: a child's needs a guardian.
    manager = signed_in(new_page, console_stack, "mosvy", "case_manager")
    manager.goto(f"{console_stack.url}/repatriation/{opened['id']}")
    manager.select_option("#consent-status", "withdrawn")
    manager.select_option("#consent-basis", "own_consent")
    manager.fill("#consent-recorded_on", date.today().isoformat())
    manager.click("#consent-form button[type=submit]")
    refused = manager.locator("[id='consent-basis-error']")
    assert refused.inner_text() == (
        "a child's return needs a guardian's consent or a best-interest decision"
    )
    assert manager.input_value("#consent-status") == "withdrawn"  # what was chosen stays
    checked(manager, "repatriation-consent-refused-en")
    manager.select_option("#consent-basis", "guardian")
    manager.click("#consent-form button[type=submit]")
    manager.locator("#consent-now[data-status=withdrawn]").wait_for()


def test_a_restarted_console_keeps_its_users_signed_in(console_stack: Any, new_page: Any) -> None:
    page = signed_in(new_page, console_stack, "mosvy", "auditor")
    console_stack.console.stop()
    console_stack.console.start("/readyz")
    page.goto(f"{console_stack.url}/audit")
    assert page.url == f"{console_stack.url}/audit"  # not sent to sign in again
    assert "intact" in page.inner_text("#chain")
    # Its forms still carry the session's CSRF token: signing out works.
    page.click("form[action='/signout'] button")
    page.goto(f"{console_stack.url}/audit")
    assert "/dev-issuer/" in page.url
