"""The integrator guides (docs/integrating/*.md) are executed, so their examples cannot rot.

Convention (docs/integrating/README.md): the ```python run blocks of a guide form one
script, run top to bottom in one namespace; ```sh run blocks are run with bash from the
repository root; every curl of every sh block must name a route (method and path) of the
service whose base-URL variable it uses, as that service's /openapi.json has it. Blocks
without ``run`` are shown only.

The services run as real processes on the session broker; the guides get their base URLs,
the dev token keys and their ports through the environment variables the guides document.
The NGO guide acts on the referral the ministry guide sent (to the provider the matching
chose), so the guides run in order: ministry, ngo, counterpart.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nrm_deploy.kafka_cluster import free_port
from nrm_deploy.testing import ServiceProcess

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ROOT / "docs" / "integrating"
ORDER = ("ministry", "ngo", "counterpart")

URL_VARIABLES = {
    "NRM_IDENTIFICATION_URL": "identification",
    "NRM_REFERRAL_URL": "referral",
    "NRM_SHELTER_REGISTRY_URL": "shelter-registry",
    "NRM_REPATRIATION_URL": "repatriation",
}

_FENCE = re.compile(r"^```([A-Za-z0-9_-]+)([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)


@dataclass(frozen=True)
class Block:
    guide: str
    language: str
    run: bool
    code: str
    line: int

    @property
    def where(self) -> str:
        return f"docs/integrating/{self.guide}.md:{self.line}"


def blocks(guide: str) -> list[Block]:
    text = (GUIDES / f"{guide}.md").read_text()
    found = []
    for match in _FENCE.finditer(text):
        language, info, code = match.groups()
        line = text.count("\n", 0, match.start()) + 2  # the block's first code line
        found.append(Block(guide, language, "run" in info.split(), code, line))
    return found


@dataclass(frozen=True)
class CurlCall:
    block: Block
    service: str
    method: str
    path: str


def curl_calls(block: Block) -> list[CurlCall]:
    """The curl commands of a shell block: the service (by its URL variable), the method
    (-X, else POST with a body, else GET) and the path without the query."""
    joined = block.code.replace("\\\n", " ")
    calls = []
    for command in re.findall(r"\bcurl\b[^\n]*", joined):
        url = re.search(r"\$\{?(NRM_[A-Z_]+_URL)\}?(/[^\s\"'?]*)", command)
        assert url is not None, f"{block.where}: a curl without an NRM_*_URL: {command}"
        assert url.group(1) in URL_VARIABLES, f"{block.where}: unknown {url.group(1)}"
        explicit = re.search(r"(?:^|\s)-X\s*([A-Z]+)", command)
        has_body = re.search(r"\s(-d|--data|--data-binary|--data-raw|-T)\s", command)
        method = explicit.group(1) if explicit else ("POST" if has_body else "GET")
        calls.append(CurlCall(block, URL_VARIABLES[url.group(1)], method, url.group(2)))
    return calls


def route_exists(document: dict[str, Any], method: str, path: str) -> bool:
    """Whether ``method path`` is an operation of the OpenAPI document. A segment of the
    path matches the same literal, or a path parameter (``{case_id}``) when it is a value
    or a shell variable (``$CASE_ID``); a shell variable never matches a literal."""

    def fits(given: str, declared: str) -> bool:
        if declared.startswith("{"):
            return bool(given)
        return given == declared and not given.startswith("$")

    wanted = path.rstrip("/").split("/")
    for template, operations in document["paths"].items():
        segments = template.split("/")
        if (
            len(segments) == len(wanted)
            and method.lower() in operations
            and all(map(fits, wanted, segments))
        ):
            return True
    return False


def test_every_guide_has_runnable_examples_and_curls() -> None:
    for guide in ORDER:
        found = blocks(guide)
        assert any(b.language == "python" and b.run for b in found), guide
        assert any(curl_calls(b) for b in found if b.language == "sh"), guide
    ngo = (GUIDES / "ngo.md").read_text()
    assert "```js" in ngo and "standardwebhooks" in ngo


def run_python(blocks_: list[Block], namespace: dict[str, Any]) -> None:
    for block in blocks_:
        code = compile(block.code, block.where, "exec")
        try:
            exec(code, namespace)
        except Exception:  # noqa: BLE001 - reported with the guide's line
            pytest.fail(f"{block.where}: the example raised\n{traceback.format_exc()}")


def run_shell(block: Block) -> None:
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.code],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (
        f"{block.where}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    )


def run_guide(guide: str, namespace: dict[str, Any]) -> None:
    """The guide's runnable blocks in document order: Python in ``namespace``, shell in
    bash."""
    for block in blocks(guide):
        if not block.run:
            continue
        if block.language == "python":
            run_python([block], namespace)
        elif block.language == "sh":
            run_shell(block)
        else:
            pytest.fail(f"{block.where}: cannot run a {block.language} block")


def test_the_guides_run_against_the_services(
    start_service: Callable[..., ServiceProcess],
    token_keys: Path,
    kafka_bootstrap: str,
    topic_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver_port = free_port()
    counterparts = {
        "VNM": {
            "organisations": ["vnm-molisa", "vnm-mps"],
            "endpoint": f"http://127.0.0.1:{receiver_port}/nrm/messages",
            "secret": "dev-only-vnm",
        },
        "THA": {"organisations": ["tha-msdhs"], "secret": "dev-only-tha"},
    }
    services = {
        "shelter-registry": start_service(
            "shelter-registry", wait_for="/readyz", LOAD_REFERENCE_DATA="true"
        ),
        "identification": start_service("identification", wait_for="/readyz"),
        "referral": start_service(
            "referral",
            wait_for="/readyz",
            DELIVERY_POLL_SECONDS="0.2",
            WEBHOOK_ALLOWED_NETWORKS='["127.0.0.0/8"]',
        ),
        "repatriation": start_service(
            "repatriation",
            wait_for="/readyz",
            COUNTERPARTS=json.dumps(counterparts),
            LIAISON_POLL_SECONDS="0.2",
        ),
    }
    for variable, name in URL_VARIABLES.items():
        monkeypatch.setenv(variable, services[name].url)
    monkeypatch.setenv("NRM_KEYS_DIR", str(token_keys))
    monkeypatch.setenv("NRM_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("NRM_TOPIC_PREFIX", topic_prefix)
    monkeypatch.setenv("NRM_WEBHOOK_PORT", str(free_port()))
    monkeypatch.setenv("NRM_RECEIVER_PORT", str(receiver_port))

    # Every curl of every guide names a route of its service.
    documents = {name: httpx.get(f"{s.url}/openapi.json").json() for name, s in services.items()}
    unknown = [
        f"{call.block.where}: {call.method} {call.path} is no route of {call.service}"
        for guide in ORDER
        for block in blocks(guide)
        if block.language == "sh"
        for call in curl_calls(block)
        if not route_exists(documents[call.service], call.method, call.path)
    ]
    assert unknown == []

    namespaces: dict[str, dict[str, Any]] = {
        guide: {"__name__": f"guide_{guide}"} for guide in ORDER
    }
    try:
        run_guide("ministry", namespaces["ministry"])
        # The NGO acts on the referral the ministry guide sent to the provider it chose.
        monkeypatch.setenv("NRM_PROVIDER_ORG", namespaces["ministry"]["best"]["organisation_id"])
        run_guide("ngo", namespaces["ngo"])
        run_guide("counterpart", namespaces["counterpart"])
    except BaseException:
        for name, service in services.items():  # shown with the failure
            print(f"--- {name} log ---\n{service.log_tail(20)}")
        raise
    finally:
        for namespace in namespaces.values():
            for name in ("receiver", "endpoint"):
                server = getattr(namespace.get(name), "server", None)
                if server is not None:
                    server.shutdown()
                    server.server_close()
