"""SOPs are data: the built-in agreements load; a new agreement is a new file, run with
no code change; a file that does not validate is refused at load with the path of the
error; versions coexist and a case keeps its own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nrm_contracts.events.repatriation import Direction
from repatriation.domain.sop import BUILT_IN_DIRECTORY, SopFileInvalid, SopLibrary, load_template
from repatriation.settings import CounterpartLink, RepatriationSettings

LAOS_SOP = """
schema: nrm.repatriation.sop/1
id: khm-lao-sop
version: "2027.1"
title: Cambodia - Lao PDR repatriation procedure (illustrative)
counterpart_country: LAO
status: in_force
effective_from: 2026-01-01
agencies:
  - {code: MOSVY, country: KHM, name: MoSVY}
  - {code: MLSW, country: LAO, name: "Ministry of Labour and Social Welfare"}
document_kinds: [victim_identification_form, consent_to_return, handover_record,
                 best_interest_assessment_report, reintegration_report]
border_points:
  - {code: trapeang-kriel-nong-nokkhiene, name: Trapeang Kriel - Nong Nokkhiene,
     province_code: "19", reception_organisation: mosvy}
procedures:
  inbound:
    start: notification
    steps:
      - {id: notification, title: MLSW notifies, acting_country: LAO, agency: MLSW,
         required_documents: [victim_identification_form, consent_to_return],
         next: [best_interest_assessment]}
      - {id: best_interest_assessment, title: Best interest, acting_country: LAO, agency: MLSW,
         kind: best_interest_assessment, applies_to: children,
         required_documents: [best_interest_assessment_report], next: [handover_agreed]}
      - {id: handover_agreed, title: Date and border agreed, acting_country: KHM, agency: MOSVY,
         kind: handover_agreement, deadline_working_days: 4,
         required_details: [handover_date, border_point], next: [handover]}
      - {id: handover, title: Handover, acting_country: LAO, agency: MLSW, kind: handover,
         required_documents: [handover_record], next: [follow_up]}
      - {id: follow_up, title: Follow-up report, acting_country: KHM, agency: MOSVY,
         required_documents: [reintegration_report], required_details: [reintegration_status],
         closes_case: returned}
"""


def test_the_built_in_agreements_load_with_their_versions() -> None:
    library = SopLibrary.load()

    versions = {(t.id, t.version, t.status.value) for t in library.templates}

    assert versions == {
        ("khm-vnm-sop", "2009.1", "in_force"),
        ("khm-tha-mou", "2003.1", "superseded"),
        ("khm-tha-mou", "2006.1", "in_force"),
        ("khm-mys-draft", "0.1", "draft"),
    }
    from datetime import date

    assert library.current("THA", Direction.INBOUND, date(2026, 1, 1)).version == "2006.1"
    assert library.current("MYS", Direction.INBOUND, date(2026, 1, 1)) is None


def write_laos(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "khm-lao-2027.yaml").write_text(LAOS_SOP, encoding="utf-8")
    return directory


@pytest.fixture
def organisations_with_laos(tmp_path: Path) -> Path:
    """The dev organisations and a Lao agency: configuration, not code."""
    dev = yaml.safe_load(
        (Path(__file__).resolve().parents[3] / "deploy" / "dev-organisations.yaml").read_text()
    )
    dev["organisations"].append(
        {"id": "lao-mlsw", "type": "foreign_agency", "country": "LAO", "name": "Lao MLSW"}
    )
    path = tmp_path / "organisations.yaml"
    path.write_text(yaml.safe_dump(dev))
    return path


@pytest.fixture
def options(tmp_path: Path, organisations_with_laos: Path) -> dict[str, object]:
    fields = RepatriationSettings.model_fields
    extra = (
        {"organisations_file": organisations_with_laos} if "organisations_file" in fields else {}
    )
    return {
        "sop_directories": [write_laos(tmp_path / "sops")],
        "counterparts": {
            "LAO": CounterpartLink(organisations=("lao-mlsw",), secret="test-secret-lao")
        },
        **extra,
    }


def test_a_new_agreement_added_as_a_data_file_runs_a_case_to_its_end(
    client, officer, agency, outbox
) -> None:
    laos = agency("lao-mlsw", "LAO", organisation_type="foreign_agency")
    notified = laos.post(
        "/liaison/cases",
        {
            "counterpart_reference": "MLSW-2027-001",
            "person": {
                "given_name": "Dara",
                "family_name": "Keo",
                "sex": "female",
                "estimated_age": 15,
            },
            "consent_to_return": {
                "status": "given",
                "basis": "guardian",
                "recorded_on": "2026-03-01",
            },
            "documents": ["victim_identification_form", "consent_to_return"],
        },
    )
    assert notified.status_code == 201, notified.text
    case_id = notified.json()["id"]
    assert notified.json()["sop"]["id"] == "khm-lao-sop"

    plan = [
        ("LAO", "best_interest_assessment", ["best_interest_assessment_report"], {}),
        (
            "KHM",
            "handover_agreed",
            [],
            {"handover_date": "2026-03-20", "border_point": "trapeang-kriel-nong-nokkhiene"},
        ),
        ("LAO", "handover", ["handover_record"], {}),
        ("KHM", "follow_up", ["reintegration_report"], {"reintegration_status": "with_family"}),
    ]
    for who, step, documents, details in plan:
        body = {"step": step, "documents": documents, "details": details}
        if who == "KHM":
            response = client.post(f"/cases/{case_id}/steps", json=body, headers=officer)
        else:
            response = laos.step(case_id, step, documents=documents, details=details)
        assert response.status_code == 201, (step, response.text)

    assert response.json()["outcome"] == "returned"
    handover = [e for e in outbox() if e.type == "kh.nrm.repatriation.handover.completed.v1"]
    assert handover[0].data.reception_province_code == "19"


def test_a_case_keeps_the_version_it_was_opened_under(tmp_path: Path) -> None:
    library = SopLibrary.load()
    old = library.get("khm-tha-mou", "2003.1")
    new = library.get("khm-tha-mou", "2006.1")

    assert "legal_proceedings_cleared" not in {s.id for s in old.procedures.inbound.steps}
    assert "legal_proceedings_cleared" in {s.id for s in new.procedures.inbound.steps}


def broken(change) -> dict:
    document = yaml.safe_load((BUILT_IN_DIRECTORY / "khm-vnm-2009.yaml").read_text())
    change(document)
    return document


def outbound_step(document: dict, step_id: str) -> dict:
    return next(s for s in document["procedures"]["outbound"]["steps"] if s["id"] == step_id)


INVALID = [
    (
        "negative deadline",
        lambda d: d["procedures"]["outbound"]["steps"][1].update(deadline_working_days=-1),
        "procedures.outbound.steps[1].deadline_working_days",
    ),
    ("unknown field", lambda d: d.update(signatories=["MoSVY"]), "signatories"),
    (
        "unknown next step",
        lambda d: outbound_step(d, "notification").update(next=["receipt_acknowledgd"]),
        "procedures.outbound.steps[0].next[0]",
    ),
    (
        "agency of the wrong country",
        lambda d: outbound_step(d, "notification").update(agency="MPS"),
        "procedures.outbound.steps[0].agency",
    ),
    (
        "unknown document kind",
        lambda d: outbound_step(d, "handover").update(required_documents=["selfie"]),
        "procedures.outbound.steps[9].required_documents[0]",
    ),
    (
        "handover reachable without a best-interest assessment",
        lambda d: outbound_step(d, "family_assessment").update(next=["travel_documents_issued"]),
        "procedures.outbound.steps[",
    ),
    (
        "a handover agreement without a border point",
        lambda d: outbound_step(d, "handover_confirmed").update(required_details=["handover_date"]),
        "procedures.outbound.steps[8].required_details",
    ),
    (
        "a dead end",
        lambda d: outbound_step(d, "handover").update(next=[]),
        "procedures.outbound.steps[9].next",
    ),
    (
        "unknown detail",
        lambda d: outbound_step(d, "handover").update(required_details=["shoe_size"]),
        "procedures.outbound.steps[9].required_details[0]",
    ),
    ("missing version", lambda d: d.pop("version"), "version"),
    (
        "the counterpart notifies an outbound case",
        lambda d: outbound_step(d, "notification").update(acting_country="VNM", agency="MOLISA"),
        "procedures.outbound.start",
    ),
]


@pytest.mark.parametrize(("what", "change", "path"), INVALID, ids=[row[0] for row in INVALID])
def test_an_invalid_sop_file_is_refused_at_load_with_the_path_of_the_error(
    tmp_path: Path, what, change, path
) -> None:
    file = tmp_path / "khm-vnm-2009.yaml"
    file.write_text(yaml.safe_dump(broken(change), allow_unicode=True), encoding="utf-8")

    with pytest.raises(SopFileInvalid) as refused:
        load_template(file)

    assert refused.value.path.startswith(path), str(refused.value)
    assert str(file) in str(refused.value)


def test_the_service_refuses_to_start_with_an_invalid_sop_file(tmp_path: Path, settings) -> None:
    from repatriation.app import create_app

    directory = tmp_path / "bad"
    directory.mkdir()
    (directory / "broken.yaml").write_text("schema: nrm.repatriation.sop/1\nid: x\n")

    with pytest.raises(SopFileInvalid, match=r"broken\.yaml"):
        create_app(settings.model_copy(update={"sop_directories": (directory,)}))


def test_one_version_of_an_agreement_is_defined_once(tmp_path: Path) -> None:
    (tmp_path / "copy.yaml").write_text((BUILT_IN_DIRECTORY / "khm-vnm-2009.yaml").read_text())

    with pytest.raises(SopFileInvalid, match="already defined"):
        SopLibrary.load([tmp_path])
