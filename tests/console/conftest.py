"""The console against the real services: one stack per test module (identification,
referral, the shelter registry with its reference facilities, the broker) and the console
process in front of it, driven by Debian's chromium through Playwright (no browser
download: the system binary). Screenshots go to var/console/screenshots/."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nrm_deploy.catalogue import CONSOLE, SERVICES
from nrm_deploy.testing import ServiceProcess

CHROMIUM_NAMES = ("chromium", "chromium-browser")


@dataclass
class ConsoleStack:
    console: ServiceProcess
    identification: ServiceProcess
    referral: ServiceProcess
    registry: ServiceProcess
    repatriation: ServiceProcess
    mint: Callable[..., str]

    @property
    def url(self) -> str:
        return self.console.url

    def call(
        self,
        caller: tuple[str, str],
        method: str,
        service: ServiceProcess,
        path: str,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> Any:
        """A service called directly as ``caller`` (organisation, role), to set up what a
        test's journey starts from."""
        token = self.mint(*caller)
        answer = httpx.request(
            method,
            f"{service.url}{path}",
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
            timeout=10,
            **options,
        )
        assert answer.status_code < 300, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def console_stack(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, token_keys: Path
) -> Iterator[ConsoleStack]:
    from nrm_runtime.devtokens import mint_token

    workdir = tmp_path_factory.mktemp("console-stack")
    prefix = f"t{uuid.uuid4().hex[:10]}."
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        "JWT_JWKS_FILE": str(token_keys / "dev-jwks.json"),
        "FIELD_KEYS_FILE": str(token_keys / "field-keys.json"),
        "OUTBOX_POLL_SECONDS": "0.3",
    }
    started: list[ServiceProcess] = []
    try:
        processes = {
            name: ServiceProcess(SERVICES[name], workdir / name, {**common, **extra})
            for name, extra in (
                ("shelter-registry", {"LOAD_REFERENCE_DATA": "true"}),
                ("identification", {}),
                ("referral", {}),
                ("repatriation", {}),
            )
        }
        started.extend(processes.values())
        # Side by side: each waits for its consumer group, which takes seconds.
        with ThreadPoolExecutor(len(processes)) as pool:
            list(pool.map(lambda process: process.start("/readyz"), processes.values()))
        console = ServiceProcess(CONSOLE, workdir / "console", {})
        console.settings.update(
            {
                "PUBLIC_URL": console.url,
                "DEV_KEYS_DIR": str(token_keys),
                "IDENTIFICATION_URL": processes["identification"].url,
                "REFERRAL_URL": processes["referral"].url,
                "SHELTER_REGISTRY_URL": processes["shelter-registry"].url,
                "REPATRIATION_URL": processes["repatriation"].url,
                "LIVE_POLL_SECONDS": "0.5",
                # A file, not memory: a test restarts the console and stays signed in.
                "SESSION_DATABASE_URL": f"sqlite:///{workdir / 'console-sessions.db'}",
            }
        )
        started.append(console)
        console.start("/readyz")

        def mint(organisation: str, role: str) -> str:
            return mint_token(organisation=organisation, roles=[role], directory=token_keys)

        yield ConsoleStack(
            console,
            processes["identification"],
            processes["referral"],
            processes["shelter-registry"],
            processes["repatriation"],
            mint,
        )
    finally:
        for process in reversed(started):
            process.stop()


def chromium_binary() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("chromium not found: install it (Debian: apt-get install chromium)")


# Module scope, not session: while Playwright's sync API is open it owns an event loop in
# this thread, and every asyncio test that ran after it in the same session failed.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_binary(), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], Any]]:
    """A fresh browser context (its own cookies) per call, phone-sized; all closed after."""
    contexts: list[Any] = []

    def _new(width: int = 412, height: int = 915) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.csp_violations = []
        page.on(
            "console",
            lambda message: (
                page.csp_violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield _new
    for context in contexts:
        context.close()
