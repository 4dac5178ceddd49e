"""The console in-process: sign-in through its dev issuer (code + PKCE), the headers every
page carries, CSRF, the session timeout, the language switch, the catalogue, and the
settings that refuse insecure defaults. The services are answered by a stub transport
here; tests/console/ drives the real services in a browser."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from console.app import create_app
from console.i18n import LABELS, Words, translations
from console.pages.inbox import ACTION_TITLES
from console.pages.problems import GENERIC
from console.pages.registry import GAP_TITLES
from console.pages.reviews import PERSON_FIELDS
from console.pages.signin import JOURNEYS
from console.pages.statistics import DIMENSION_TITLES, PERIOD_TITLES
from console.sessions import SessionStore, SignedInUser
from console.settings import ConsoleSettings

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


@pytest.fixture
def console(tmp_path: Path, services: Services) -> Iterator[TestClient]:
    settings = ConsoleSettings(environment="test", public_url=BASE, dev_keys_dir=tmp_path / "keys")
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


def test_a_form_sent_after_the_session_expired_is_kept_for_after_sign_in(
    console: TestClient,
) -> None:
    sign_in(console, "moi-dahtjp", "screener")
    form = console.get("/screenings/new")
    store: SessionStore = console.app.state.console.sessions  # type: ignore[attr-defined]
    for session in store._sessions.values():
        session.seen_at -= store.idle_seconds + 1
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


def test_sessions_end_after_idle_time() -> None:
    moment = [1000.0]
    store = SessionStore(idle_seconds=60, lifetime_seconds=3600, now=lambda: moment[0])
    session = store.new()
    moment[0] += 59
    assert store.get(session.id) is session
    moment[0] += 61
    assert store.get(session.id) is None


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
    assert Words("km").date("2026-12-07") == "ថ្ងៃទី៧ ខែធ្នូ ឆ្នាំ២០២៦"
    assert Words("en").date("2026-12-07") == "7 Dec 2026"


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({}, "CONSOLE_OIDC_ISSUER is required"),
        ({"oidc_issuer": "http://idp.example"}, "must be an https URL"),
        (
            {"oidc_issuer": "https://idp.example", "public_url": "http://console.example"},
            "CONSOLE_PUBLIC_URL",
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


def test_dead_sessions_are_forgotten_those_never_signed_in_first() -> None:
    moment = [1000.0]
    store = SessionStore(idle_seconds=60, lifetime_seconds=3600, now=lambda: moment[0])
    anonymous, signed_in = store.new(), store.new()
    signed_in.user = SignedInUser("s", "mosvy", "ministry", ("auditor",), "token", 10**9)
    moment[0] += 120
    store.new()
    assert store.peek(anonymous.id) is None and anonymous.id not in store._sessions
    assert store.expired(signed_in.id) is signed_in  # kept to recognise a late form
