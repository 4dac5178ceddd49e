"""The console in-process: sign-in through its dev issuer (code + PKCE), the headers every
page carries, CSRF, the session timeout, the language switch, the catalogue, and the
settings that refuse insecure defaults. The services are answered by a stub transport
here; tests/console/ drives the real services in a browser."""

from __future__ import annotations

import ast
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from console.app import create_app
from console.buddhist_era import buddhist_era_year
from console.i18n import LABELS, Words, translations
from console.pages.inbox import ACTION_TITLES
from console.pages.pipeline import columns_of, digest_of_board
from console.pages.problems import GENERIC
from console.pages.registry import GAP_TITLES
from console.pages.reviews import PERSON_FIELDS
from console.pages.signin import JOURNEYS
from console.pages.statistics import DIMENSION_TITLES, PERIOD_TITLES
from console.sessions import SessionStore, SignedInUser, engine_url, key_of
from console.settings import ConsoleSettings
from nrm_runtime.reference_codes import provinces

BASE = "http://console.test"
TEMPLATES = Path(__file__).parents[1] / "src" / "console" / "templates"


class Services:
    """A stand-in for the four services: records each call, answers from ``answers``."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []
        self.answers: dict[tuple[str, str], tuple[int, Any]] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        status, body = self.answers.get((request.method, request.url.path), (404, None))
        if body is None:
            body = {"error": {"code": "not_found", "message": "not found"}}
        return httpx.Response(status, json=body)


@pytest.fixture
def services() -> Services:
    return Services()


def console_settings(tmp_path: Path) -> ConsoleSettings:
    return ConsoleSettings(
        environment="test",  # type: ignore[arg-type]
        public_url=BASE,
        dev_keys_dir=tmp_path / "keys",
        session_database_url=f"sqlite:///{tmp_path / 'sessions.db'}",
    )


@pytest.fixture
def console(tmp_path: Path, services: Services) -> Iterator[TestClient]:
    with console_app(console_settings(tmp_path), services) as client:
        yield client


@contextmanager
def console_app(settings: ConsoleSettings, services: Services) -> Iterator[TestClient]:
    """One console process, as far as a test can tell (its own app and memory)."""
    holder: dict[str, Any] = {}
    # The console reads its own dev issuer over HTTP, as it would any provider.
    identity = httpx.ASGITransport(app=_Lazy(holder))
    app = create_app(
        settings,
        identity_transport=identity,
        services_transport=httpx.MockTransport(services.handler),
    )
    holder["app"] = app
    with TestClient(app, base_url=BASE) as client:
        yield client


class _Lazy:
    """An ASGI app that forwards to the app created after it."""

    def __init__(self, holder: dict[str, Any]) -> None:
        self.holder = holder

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.holder["app"](scope, receive, send)


def sign_in(client: TestClient, organisation: str, role: str, back: str = "/") -> None:
    """The whole code flow, as the browser follows it."""
    to_issuer = client.get(f"/signin?back={back}", follow_redirects=False)
    assert to_issuer.status_code == 303
    page = client.get(to_issuer.headers["location"])
    assert page.status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    granted = client.post(
        "/dev-issuer/authorize",
        data={**fields, "organisation": organisation, "role": role},
        follow_redirects=False,
    )
    assert granted.status_code == 303
    landed = client.get(granted.headers["location"], follow_redirects=False)
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == back


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_sign_in_with_code_and_pkce_shows_the_roles_work(console: TestClient) -> None:
    sign_in(console, "moi-dahtjp", "screener")
    home = console.get("/")
    assert "moi-dahtjp" in home.text
    assert 'href="/screenings/new"' in home.text


def test_a_page_for_signed_in_users_sends_others_to_sign_in(console: TestClient) -> None:
    answer = console.get("/screenings/new", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?back=/screenings/new"


def test_a_code_is_redeemed_only_with_its_verifier(console: TestClient) -> None:
    refused = console.post(
        "/dev-issuer/token",
        data={"grant_type": "authorization_code", "code": "made-up", "code_verifier": "x"},
    )
    assert refused.status_code == 400


def test_a_callback_with_another_state_signs_nobody_in(console: TestClient) -> None:
    console.get("/signin", follow_redirects=False)
    answer = console.get("/signin/callback?code=x&state=forged", follow_redirects=False)
    assert answer.status_code == 400
    assert console.get("/screenings/new", follow_redirects=False).status_code == 303


def test_every_page_forbids_inline_script_and_caching(console: TestClient) -> None:
    answer = console.get("/")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["cache-control"] == "no-store"
    assert "<script>" not in answer.text and " on" not in re.sub(r"[^<]*", "", answer.text)


def test_no_template_has_inline_script_or_handlers() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert "<script>" not in text, template.name
        assert not re.search(r"\son[a-z]+=", text), template.name
        assert "style=" not in text, template.name


def test_the_session_cookie_is_httponly_and_lax(console: TestClient) -> None:
    answer = console.get("/signin", follow_redirects=False)
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_a_form_without_the_csrf_token_is_refused(console: TestClient, services: Services) -> None:
    sign_in(console, "mosvy", "competent_authority")
    answer = console.post("/decisions/00000000-0000-0000-0000-000000000001", data={"outcome": "x"})
    assert answer.status_code == 403
    assert services.calls == []


def test_a_refused_field_is_shown_next_to_it_in_khmer(
    console: TestClient, services: Services
) -> None:
    sign_in(console, "moi-dahtjp", "screener")
    console.post("/language", data={"language": "km", "csrf": csrf_of(console.get("/"))})
    form = console.get("/screenings/new")
    services.answers[("POST", "/screenings")] = (
        422,
        {
            "error": {
                "code": "invalid_input",
                "message": "the birth date is in the future",
                "field": "person.birth_date",
            }
        },
    )
    answer = console.post(
        "/screenings",
        data={
            "csrf": csrf_of(form),
            "person.given_name": "Dara",
            "person.birth_date": "2999-01-01",
        },
    )
    assert answer.status_code == 422
    error = re.search(r'<p class="error" id="person.birth_date-error">([^<]+)</p>', answer.text)
    assert error is not None and error.group(1) == "ថ្ងៃកំណើតស្ថិតនៅពេលអនាគត"
    assert 'value="Dara"' in answer.text  # what was typed stays


def test_the_screening_form_is_sent_as_the_api_names_it(
    console: TestClient, services: Services
) -> None:
    sign_in(console, "moi-dahtjp", "screener")
    services.answers[("POST", "/screenings")] = (201, _screening_answer())
    form = console.get("/screenings/new")
    answer = console.post(
        "/screenings",
        data={
            "csrf": csrf_of(form),
            "person.given_name": "Sokha",
            "person.family_name": "Chan",
            "person.sex": "female",
            "person.estimated_age": "16",
            "encounter.type": "police_operation",
            "encounter.date": "2026-11-20",
            "encounter.province_code": "02",
            "indicators.acts": ["harbouring", "transport"],
            "indicators.purposes": "sexual_exploitation",
            "consent.referral": "guardian",
        },
    )
    assert answer.status_code == 200
    sent = services.calls[-1]
    assert sent.headers["authorization"].startswith("Bearer ")
    body = httpx.Response(200, content=sent.content).json()
    assert body["person"] == {
        "given_name": "Sokha",
        "family_name": "Chan",
        "sex": "female",
        "estimated_age": 16,
    }
    assert body["indicators"]["acts"] == ["harbouring", "transport"]
    assert body["consents"] == [{"purpose": "referral", "given": True, "basis": "guardian"}]
    assert "Presumed victim" in answer.text


def age_sessions(tmp_path: Path, seconds: float) -> None:
    """Every stored session last seen ``seconds`` earlier (as if the user had left)."""
    with sqlite3.connect(tmp_path / "sessions.db") as database:
        database.execute("UPDATE console_sessions SET seen_at = seen_at - ?", (seconds,))


def test_a_form_sent_after_the_session_expired_is_kept_for_after_sign_in(
    console: TestClient, tmp_path: Path
) -> None:
    sign_in(console, "moi-dahtjp", "screener")
    form = console.get("/screenings/new")
    age_sessions(tmp_path, 30 * 60 + 1)
    answer = console.post(
        "/screenings",
        data={"csrf": csrf_of(form), "person.given_name": "Bopha"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/signin?back=/screenings/new"
    sign_in(console, "moi-dahtjp", "screener", back="/screenings/new")
    assert 'value="Bopha"' in console.get("/screenings/new").text


def test_a_forged_late_form_keeps_nothing(console: TestClient) -> None:
    answer = console.post(
        "/screenings", data={"csrf": "forged", "person.given_name": "X"}, follow_redirects=False
    )
    assert answer.status_code == 303
    sign_in(console, "moi-dahtjp", "screener", back="/screenings/new")
    assert 'value="X"' not in console.get("/screenings/new").text


async def test_sessions_end_after_idle_time(tmp_path: Path) -> None:
    moment = [1000.0]
    store = SessionStore(
        f"sqlite:///{tmp_path / 's.db'}",
        idle_seconds=60,
        lifetime_seconds=3600,
        now=lambda: moment[0],
    )
    session = await store.new()
    moment[0] += 59
    found = await store.get(session.id)
    assert found is not None and found.csrf == session.csrf
    moment[0] += 61
    assert await store.get(session.id) is None
    await store.close()


def test_a_restart_keeps_the_user_signed_in_and_the_idle_timeout(
    tmp_path: Path, services: Services
) -> None:
    settings = console_settings(tmp_path)
    with console_app(settings, services) as before:
        sign_in(before, "mosvy", "auditor")
        cookies = dict(before.cookies)
    with console_app(settings, services) as after:  # a restart, or another replica
        after.cookies.update(cookies)
        assert "Audit log" in after.get("/").text
        age_sessions(tmp_path, 30 * 60 + 1)
        assert "Audit log" not in after.get("/").text
        assert after.get("/audit", follow_redirects=False).status_code == 303


async def test_the_table_holds_no_cookie_id_and_rotates_at_sign_in(tmp_path: Path) -> None:
    store = SessionStore(f"sqlite:///{tmp_path / 's.db'}", idle_seconds=60, lifetime_seconds=3600)
    session = await store.new()
    first_id = session.id
    session.user = SignedInUser("s", "mosvy", "ministry", ("auditor",), "token", 10**12)
    await store.rotate(session)
    with sqlite3.connect(tmp_path / "s.db") as database:
        keys = [row[0] for row in database.execute("SELECT key FROM console_sessions")]
    assert keys == [key_of(session.id)] and session.id not in keys
    assert await store.get(first_id) is None
    found = await store.get(session.id)
    assert found is not None and found.user == session.user
    await store.end(found)
    assert await store.get(session.id) is None
    await store.close()


def test_session_database_urls_take_the_async_drivers() -> None:
    assert engine_url("sqlite:///var/s.db") == "sqlite+aiosqlite:///var/s.db"
    assert engine_url("postgresql://nrm:pw@db/console") == (
        "postgresql+asyncpg://nrm:pw@db/console"
    )


def test_every_message_has_a_khmer_translation() -> None:
    catalogue = translations("km")
    used = set(LABELS.values()) | set(GENERIC.values())
    used |= {title for journeys in JOURNEYS.values() for _, title in journeys}
    for titles in (ACTION_TITLES, GAP_TITLES, DIMENSION_TITLES, PERIOD_TITLES, PERSON_FIELDS):
        used |= set(titles.values())
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r'_\(\s*"([^"]+)"\s*\)', template.read_text()))
    untranslated = sorted(m for m in used if catalogue.gettext(m) == m)
    assert untranslated == []


def test_khmer_dates_use_khmer_digits_and_month_names() -> None:
    assert Words("km").date("2026-12-07") == "ថ្ងៃទី៧ ខែធ្នូ ឆ្នាំ២០២៦ ព.ស. ២៥៧០"
    assert Words("en").date("2026-12-07") == "7 Dec 2026"
    # 20:30 UTC is the next morning in Phnom Penh: the date and its BE year are Cambodia's.
    assert Words("km").date("2026-12-07T20:30:00+00:00") == "៨ ធ្នូ ២០២៦ ព.ស. ២៥៧០ ០៣:៣០"


@pytest.mark.parametrize(
    ("day", "year"),
    [
        # The BE year begins the day after Visak Bochea (22 May 2024, 11 May 2025, 1 May 2026).
        ("2024-05-22", 2567),
        ("2024-05-23", 2568),
        ("2025-01-15", 2568),
        ("2025-05-11", 2568),
        ("2025-05-12", 2569),
        ("2026-05-01", 2569),
        ("2026-05-02", 2570),
        ("2026-12-07", 2570),
        ("1900-05-27", 2444),  # momentkh's reference conversions
        ("1926-04-27", 2470),
    ],
)
def test_the_buddhist_era_year_changes_after_visak_bochea(day: str, year: int) -> None:
    assert buddhist_era_year(date.fromisoformat(day)) == year


def test_no_buddhist_era_year_is_guessed_outside_the_table() -> None:
    assert buddhist_era_year(date(1899, 12, 31)) is None
    assert Words("km").date("1899-12-31") == "ថ្ងៃទី៣១ ខែធ្នូ ឆ្នាំ១៨៩៩"


def test_provinces_come_from_the_runtimes_reference_list(
    console: TestClient, services: Services
) -> None:
    sign_in(console, "moi-dahtjp", "screener")
    form = console.get("/screenings/new").text
    codes = re.findall(r'<option value="(\d\d)"', form)
    assert codes == [province.code for province in provinces()]
    assert Words("km").province("15") == "ពោធិ៍សាត់" and Words("en").province("15") == "Pursat"
    assert Words("en").province("99") == "99" and Words("en").province(None) == "—"


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({}, "CONSOLE_OIDC_ISSUER is required"),
        ({"oidc_issuer": "http://idp.example"}, "must be an https URL"),
        (
            {"oidc_issuer": "https://idp.example", "public_url": "http://console.example"},
            "CONSOLE_PUBLIC_URL",
        ),
        (
            {"oidc_issuer": "https://idp.example", "public_url": "https://console.example"},
            "CONSOLE_SESSION_DATABASE_URL",
        ),
    ],
)
def test_production_refuses_insecure_defaults(overrides: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        ConsoleSettings(environment="production", **overrides)  # type: ignore[arg-type]


def test_production_has_no_dev_issuer() -> None:
    settings = ConsoleSettings(
        environment="production",  # type: ignore[arg-type]
        oidc_issuer="https://idp.example",
        public_url="https://console.example",
        session_database_url="postgresql://console@db/console",
    )
    paths: list[Callable[..., Any]] = [getattr(r, "path", "") for r in create_app(settings).routes]
    assert not any(str(path).startswith("/dev-issuer") for path in paths)
    assert settings.secure_cookies


def _screening_answer() -> dict[str, Any]:
    element = {"met": True, "required": True, "answers": ["harbouring"], "explanation": ""}
    return {
        "id": "00000000-0000-0000-0000-00000000000a",
        "case_id": "00000000-0000-0000-0000-00000000000b",
        "reporting_organisation": "moi-dahtjp",
        "encounter": {"type": "police_operation", "date": "2026-11-20"},
        "recorded_at": "2026-11-20T10:00:00+00:00",
        "presumptive_assessment": {
            "result": "presumed_victim",
            "act": element,
            "means": {**element, "met": False, "required": False, "answers": []},
            "purpose": {**element, "answers": ["sexual_exploitation"]},
            "child_rule_applies": True,
        },
    }


def test_the_console_meets_the_services_only_over_http() -> None:
    """It imports contracts and runtime, never a service or the deploy room."""
    forbidden = {"identification", "referral", "shelter_registry", "repatriation", "nrm_deploy"}
    source = Path(__file__).parents[1] / "src" / "console"
    for path in source.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = {node.module.split(".")[0]}
            else:
                continue
            assert not names & forbidden, path.name


async def test_dead_sessions_are_forgotten_those_never_signed_in_first(tmp_path: Path) -> None:
    moment = [1000.0]
    store = SessionStore(
        f"sqlite:///{tmp_path / 's.db'}",
        idle_seconds=60,
        lifetime_seconds=3600,
        now=lambda: moment[0],
    )
    anonymous, signed_in = await store.new(), await store.new()
    signed_in.user = SignedInUser("s", "mosvy", "ministry", ("auditor",), "token", 10**9)
    await store.save(signed_in)
    moment[0] += 120
    await store.new()
    assert await store.peek(anonymous.id) is None
    assert await store.count() == 2  # the signed-in one and the newest
    late = await store.expired(signed_in.id)
    assert late is not None and late.csrf == signed_in.csrf  # kept to recognise a late form
    moment[0] += 5 * 3600
    await store.new()
    assert await store.count() == 1
    await store.close()


# --- the coordinator's live pipeline ---------------------------------------------------

CASE_ID = "00000000-0000-0000-0000-0000000000c1"


def _pipeline_answers(services: Services, state: str, due: str) -> None:
    case = {"id": CASE_ID, "sex": "female", "age_band": "12_to_17", "province_code": "12"}
    referral = {"id": "r1", "state": state, "answer_due_at": due, "escalated_at": None}
    services.answers[("GET", "/referral-cases")] = (200, {"items": [case], "next_cursor": None})
    services.answers[("GET", f"/referral-cases/{CASE_ID}/referrals")] = (200, [referral])
    services.answers[("GET", "/gaps")] = (200, [])


def test_the_pipeline_digest_changes_with_a_state_or_a_deadline() -> None:
    def board(state: str, due: str) -> str:
        case = {"id": CASE_ID, "referrals": [{"id": "r1", "state": state, "answer_due_at": due}]}
        return digest_of_board(columns_of([case]), [])

    same = board("sent", "2026-12-09T10:00:00+00:00")
    assert board("sent", "2026-12-09T10:00:00+00:00") == same
    assert board("accepted", "2026-12-09T10:00:00+00:00") != same
    assert board("sent", "2026-12-10T10:00:00+00:00") != same


def test_the_pipeline_page_streams_a_change_of_what_it_shows(
    console: TestClient, services: Services
) -> None:
    sign_in(console, "mosvy", "case_manager")
    _pipeline_answers(services, "awaiting_signoff", "2026-12-09T10:00:00+00:00")
    page = console.get("/pipeline")
    since = re.search(r'data-live="/pipeline/changes\?since=(\w+)"', page.text)
    assert since is not None
    _pipeline_answers(services, "sent", "2026-12-09T10:00:00+00:00")
    with console.stream("GET", f"/pipeline/changes?since={since.group(1)}") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        seen = [next(lines) for _ in range(3)]
    assert "event: changed" in seen
    assert since.group(1) not in seen[-1]  # the new digest, for the next comparison


# --- the repatriation officer's forms --------------------------------------------------

REPATRIATION_CASE = "00000000-0000-0000-0000-0000000000d1"


def _repatriation_answers(services: Services) -> None:
    step = {
        "step": "handover",
        "title": "Handover at the border",
        "kind": "handover",
        "applies_to": "all",
        "acting_country": "KHM",
        "agency": "MOSVY",
        "required_documents": ["handover_record"],
        "required_details": ["handover_date", "border_point"],
        "due_on": "2026-12-20",
        "overdue": False,
    }
    case = {
        "id": REPATRIATION_CASE,
        "direction": "outbound",
        "counterpart_country": "VNM",
        "sop": {"id": "khm-vnm-sop", "version": "2009.1", "title": "SOP"},
        "status": "open",
        "is_child": True,
        "person": {"given_name": "Lan", "family_name": "Nguyen", "sex": "female"},
        "consent_to_return": {"status": "given", "basis": "guardian", "recorded_on": "2026-12-01"},
        "allowed_steps": [step],
    }
    path = f"/cases/{REPATRIATION_CASE}"
    services.answers[("GET", path)] = (200, case)
    services.answers[("GET", f"{path}/timeline")] = (200, {"entries": []})
    points = [
        {"code": "bavet-moc-bai", "name": "Bavet - Moc Bai", "counterpart_country": "VNM"},
        {"code": "poipet-aranyaprathet", "name": "Poipet", "counterpart_country": "THA"},
    ]
    services.answers[("GET", "/reference/border-points")] = (200, points)


def test_a_step_is_sent_as_the_api_names_it(console: TestClient, services: Services) -> None:
    sign_in(console, "mosvy", "liaison_officer")
    _repatriation_answers(services)
    page = console.get(f"/repatriation/{REPATRIATION_CASE}")
    assert 'value="bavet-moc-bai"' in page.text and "poipet" not in page.text  # VNM's only
    assert 'action="/repatriation/' + REPATRIATION_CASE + '/consent"' not in page.text
    services.answers[("POST", f"/cases/{REPATRIATION_CASE}/steps")] = (201, {})
    answer = console.post(
        f"/repatriation/{REPATRIATION_CASE}/steps",
        data={
            "csrf": csrf_of(page),
            "step": "handover",
            "documents": "handover_record",
            "details.handover_date": "2026-12-20",
            "details.border_point": "bavet-moc-bai",
            "details.contact_name": "",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    body = httpx.Response(200, content=services.calls[-1].content).json()
    assert body == {
        "step": "handover",
        "documents": ["handover_record"],
        "details": {"handover_date": "2026-12-20", "border_point": "bavet-moc-bai"},
    }


def test_a_refused_step_detail_is_shown_next_to_it_in_khmer(
    console: TestClient, services: Services
) -> None:
    sign_in(console, "mosvy", "liaison_officer")
    console.post("/language", data={"language": "km", "csrf": csrf_of(console.get("/"))})
    _repatriation_answers(services)
    page = console.get(f"/repatriation/{REPATRIATION_CASE}")
    services.answers[("POST", f"/cases/{REPATRIATION_CASE}/steps")] = (
        422,
        {
            "error": {
                "code": "invalid_input",
                "message": "the handover date is in the past",
                "field": "details.handover_date",
            }
        },
    )
    answer = console.post(
        f"/repatriation/{REPATRIATION_CASE}/steps",
        data={"csrf": csrf_of(page), "step": "handover", "details.handover_date": "2020-01-01"},
    )
    assert answer.status_code == 422
    error = re.search(
        r'<p class="error" id="step-handover-details.handover_date-error">([^<]+)</p>', answer.text
    )
    assert error is not None and error.group(1) == "កាលបរិច្ឆេទប្រគល់ខ្លួនស្ថិតនៅពេលកន្លងមក"
    assert 'value="2020-01-01"' in answer.text  # what was typed stays


@pytest.mark.parametrize(
    ("field", "shown_at"),
    [("documents[0]", "step-handover-documents-error"), ("step", None)],
)
def test_a_refused_list_item_or_step_is_shown_in_the_steps_form(
    console: TestClient, services: Services, field: str, shown_at: str | None
) -> None:
    sign_in(console, "mosvy", "liaison_officer")
    _repatriation_answers(services)
    page = console.get(f"/repatriation/{REPATRIATION_CASE}")
    services.answers[("POST", f"/cases/{REPATRIATION_CASE}/steps")] = (
        422,
        {"error": {"code": "invalid_input", "message": "refused", "field": field}},
    )
    answer = console.post(
        f"/repatriation/{REPATRIATION_CASE}/steps",
        data={"csrf": csrf_of(page), "step": "handover", "documents": "x"},
    )
    assert answer.status_code == 422
    if shown_at:
        assert f'id="{shown_at}"' in answer.text
    else:
        assert '<div class="alert" role="alert"><p>refused</p></div>' in answer.text


def test_a_consent_change_refused_for_its_basis_is_shown_next_to_it(
    console: TestClient, services: Services
) -> None:
    sign_in(console, "mosvy", "case_manager")
    _repatriation_answers(services)
    page = console.get(f"/repatriation/{REPATRIATION_CASE}")
    services.answers[("POST", f"/cases/{REPATRIATION_CASE}/consent")] = (
        422,
        {
            "error": {
                "code": "invalid_input",
                "message": "a child's return needs a guardian's consent or a best-interest "
                "decision",
                "field": "basis",
            }
        },
    )
    answer = console.post(
        f"/repatriation/{REPATRIATION_CASE}/consent",
        data={
            "csrf": csrf_of(page),
            "status": "withdrawn",
            "basis": "own_consent",
            "recorded_on": "2026-12-05",
        },
    )
    assert answer.status_code == 422
    assert 'id="consent-basis-error"' in answer.text
    sent = [call for call in services.calls if call.method == "POST"][-1]
    body = httpx.Response(200, content=sent.content).json()
    assert body == {"status": "withdrawn", "basis": "own_consent", "recorded_on": "2026-12-05"}
    assert '<option value="own_consent" selected>' in answer.text


def test_a_liaison_officer_cannot_post_a_consent_change(
    console: TestClient, services: Services
) -> None:
    sign_in(console, "mosvy", "liaison_officer")
    _repatriation_answers(services)
    page = console.get(f"/repatriation/{REPATRIATION_CASE}")
    answer = console.post(
        f"/repatriation/{REPATRIATION_CASE}/consent",
        data={"csrf": csrf_of(page), "status": "withdrawn"},
    )
    assert answer.status_code == 403
    assert not any(call.method == "POST" for call in services.calls)
