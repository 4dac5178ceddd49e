"""Schemathesis, the API fuzzer other organisations' engineers would point at us, reads
each running service's OpenAPI document and checks the service against it: no server
error on any input, every answer (status, content type, headers, body) as declared,
and every schema-violating request refused.

Left out: schemathesis' ``positive_data_acceptance``. Rules no JSON Schema states (a
birth date in the future, an encounter before the birth) rightly refuse some requests
that the schema alone would allow.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from nrm_deploy.testing import bearer

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
            "run",
            f"{service.url}/openapi.json",
            "--header",
            f"Authorization: {authorization}",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
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
