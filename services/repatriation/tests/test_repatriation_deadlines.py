"""Deadlines are clocks in working days: a step not completed in time escalates once
(an event, the escalation list, a reminder to the counterpart when the step is theirs)."""

from __future__ import annotations

import pytest

from repatriation.usecases.deadlines import sweep_deadlines


def sweep(client) -> int:
    app = client.app
    return client.portal.call(sweep_deadlines, app.state.repatriation, app.state.database)


def notify(client, officer, case_id: str) -> None:
    response = client.post(
        f"/cases/{case_id}/steps",
        json={
            "step": "notification",
            "documents": ["victim_identification_form", "consent_to_return"],
        },
        headers=officer,
    )
    assert response.status_code == 201, response.text


def test_a_missed_acknowledgement_escalates_once_after_three_working_days(
    client, officer, clock, outbound_case, outbox, liaison_rows, steps
) -> None:
    case = outbound_case("VNM")
    notify(client, officer, case["id"])  # Monday 2 March: Viet Nam has 3 working days
    view = client.get(f"/cases/{case['id']}", headers=officer).json()
    assert steps(view)["receipt_acknowledged"]["due_on"] == "2026-03-05"

    clock.advance(days=3)  # Thursday 5 March, the due day: not yet missed
    assert sweep(client) == 0
    clock.advance(days=1)  # Friday 6 March
    assert sweep(client) == 1
    assert sweep(client) == 0  # once per clock

    missed = [e for e in outbox() if e.type == "kh.nrm.repatriation.deadline.missed.v1"]
    assert len(missed) == 1
    assert missed[0].subject == case["id"]
    assert (missed[0].data.step, missed[0].data.acting_country) == ("receipt_acknowledged", "VNM")
    assert str(missed[0].data.due_on) == "2026-03-05"
    listed = client.get("/deadlines", headers=officer).json()["items"]
    assert [(d["case_id"], d["step"], d["state"]) for d in listed] == [
        (case["id"], "receipt_acknowledged", "missed")
    ]
    reminder = liaison_rows("sent")[-1]
    assert (reminder["message_type"], reminder["step"]) == (
        "deadline_reminder",
        "receipt_acknowledged",
    )
    view = client.get(f"/cases/{case['id']}", headers=officer).json()
    assert steps(view)["receipt_acknowledged"]["overdue"] is True
    kinds = [
        e["kind"]
        for e in client.get(f"/cases/{case['id']}/timeline", headers=officer).json()["entries"]
    ]
    assert kinds[-2:] == ["deadline_missed", "message_sent"]


def test_weekends_do_not_count(client, officer, clock, outbound_case) -> None:
    clock.advance(days=4)  # Friday 6 March
    case = outbound_case("VNM")  # notification: 5 working days → Friday 13 March
    view = client.get(f"/cases/{case['id']}", headers=officer).json()

    assert view["allowed_steps"][0]["due_on"] == "2026-03-13"


def test_a_step_completed_in_time_stops_its_clock(
    client, officer, agency, clock, outbound_case
) -> None:
    case = outbound_case("VNM")
    notify(client, officer, case["id"])
    clock.advance(days=2)
    acknowledged = agency("vnm-molisa", "VNM").step(
        case["id"], "receipt_acknowledged", details={"contact_name": "Mr Tuan, DSEP"}
    )
    assert acknowledged.status_code == 201

    clock.advance(days=5)

    assert sweep(client) == 0
    assert client.get("/deadlines", headers=officer).json()["items"] == []
    met = client.get("/deadlines?state=met", headers=officer).json()["items"]
    assert {d["step"] for d in met} == {"notification", "receipt_acknowledged"}


def test_our_own_missed_step_escalates_without_a_reminder_to_the_counterpart(
    client, officer, clock, outbound_case, liaison_rows
) -> None:
    outbound_case("VNM")
    clock.advance(days=8)  # notification was due on Monday 9 March

    assert sweep(client) == 1
    assert liaison_rows("sent") == []


def reminders_audited(client, auth, case_id: str) -> list[tuple[str, str, str, str, str]]:
    response = client.get(
        "/audit", params={"resource_id": case_id}, headers=auth("mosvy", "auditor")
    )
    assert response.status_code == 200, response.text
    return [
        (e["subject"], e["organisation"], e["role"], e["action"], e["resource_id"])
        for e in response.json()["items"]
        if e["purpose"] == "deadline_reminder"
    ]


def test_a_reminder_to_the_counterpart_is_a_disclosure_audited_as_the_service_itself(
    client, officer, auth, clock, outbound_case
) -> None:
    case = outbound_case("VNM")
    notify(client, officer, case["id"])
    clock.advance(days=4)  # the counterpart's acknowledgement is late: a reminder

    assert sweep(client) == 1
    assert sweep(client) == 0  # escalated once: reminded, and audited, once

    assert reminders_audited(client, auth, case["id"]) == [
        ("system/repatriation", "mosvy", "system", "disclose", case["id"])
    ]
    assert client.get("/audit/chain", headers=auth("mosvy", "auditor")).json()["intact"] is True


def test_our_own_missed_step_sends_nothing_abroad_and_audits_no_disclosure(
    client, officer, auth, clock, outbound_case
) -> None:
    case = outbound_case("VNM")
    clock.advance(days=8)

    assert sweep(client) == 1
    assert reminders_audited(client, auth, case["id"]) == []


@pytest.mark.parametrize("options", [{"deadline_sweep_seconds": 0.05}])
def test_the_running_service_sweeps_by_itself(client, officer, clock, outbound_case) -> None:
    import time

    outbound_case("VNM")
    clock.advance(days=10)

    deadline = time.monotonic() + 10
    listed: list[object] = []
    while time.monotonic() < deadline and not listed:
        listed = client.get("/deadlines", headers=officer).json()["items"]
        time.sleep(0.05)
    assert len(listed) == 1
