"""Schemathesis, the API fuzzer other organisations' engineers would point at us, reads
each running service's OpenAPI document and checks the service against it: no server
error on any input, every answer (status, content type, headers, body) as declared,
every schema-violating request refused, and every request the schema allows accepted
(``positive_data_acceptance``): every check schemathesis has, which it runs unless told
otherwise.

What a schema can state, the services' schemas state: a cursor's format, the province
codes as an enum, ISO 639-1 language codes, ``format: date``, integers (``3.0`` too),
text that counts once stripped. Left out, of ``positive_data_acceptance`` only, are the
few operations whose rules no JSON Schema states (today-relative dates, cross-field rules,
a cursor the list did not give out): listed, each with its reason, in
``schemathesis.toml`` beside this module.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nrm_deploy.testing import bearer

# The per-operation exclusions; no `--checks` on the command line, which would override
# them (all checks run by default).
CONFIG = Path(__file__).with_name("schemathesis.toml")

CALLERS = {
    "identification": ("moi-dahtjp", "screener"),
    "referral": ("mosvy", "case_manager"),
    "shelter-registry": ("mosvy", "admin"),
    "repatriation": ("mosvy", "admin"),
}


@pytest.mark.parametrize("name", sorted(CALLERS))
def test_service_answers_as_its_openapi_document_says(name, start_service, mint, tmp_path) -> None:
    # The fuzzer sends hundreds of token-less requests from one address, which the failed-
    # authentication limiter would rightly answer with 429; it is tested on its own.
    service = start_service(name, auth_failure_limit="1000000")
    organisation, role = CALLERS[name]
    authorization = bearer(mint(organisation, role))["Authorization"]

    fuzz = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(CONFIG),
            "run",
            f"{service.url}/openapi.json",
            "--header",
            f"Authorization: {authorization}",
            "--max-examples",
            "40",
            "--seed",
            "20261128",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert fuzz.returncode == 0, fuzz.stdout[-6000:] + fuzz.stderr[-2000:]
