"""Deadlines as clocks: the preliminary decision within 5 working days of the first
screening, the final one within 45 days of a positive preliminary; a passed deadline is
listed (GET /cases?overdue=true) and announced once (decision.overdue). Fake clock."""

from __future__ import annotations

import time

import pytest

from identification.usecases.deadlines import announce_overdue

CA = ("mosvy", "competent_authority")


def overdue_ids(client, auth, who=CA) -> list[str]:
    response = client.get("/cases", params={"overdue": "true"}, headers=auth(*who))
    assert response.status_code == 200
    return [case["id"] for case in response.json()["items"]]


def watch_once(client) -> int:
    """One round of the service's deadline watcher, on the app's loop and clock."""
    app = client.app
    return client.portal.call(announce_overdue, app.state.database, app.state.identification.clock)


def test_the_preliminary_decision_falls_due_5_working_days_after_the_first_screening(
    client, auth, screen
) -> None:
    case = screen()  # Monday 2 March 2026

    read = client.get(f"/cases/{case['case_id']}", headers=auth(*CA)).json()
    assert read["status"] == "awaiting_preliminary_decision"
    assert read["deadlines"]["preliminary_due_on"] == "2026-03-09"  # the next Monday
    assert read["deadlines"]["next_deadline"] == "preliminary_decision"


def test_an_overdue_preliminary_decision_is_listed_and_announced_once(
    client, auth, clock, screen, events
) -> None:
    late = screen()
    clock.set_cambodian_day("2026-03-09")  # the due day: still in time
    assert overdue_ids(client, auth) == []
    assert watch_once(client) == 0

    clock.set_cambodian_day("2026-03-10")
    assert overdue_ids(client, auth) == [late["case_id"]]
    assert watch_once(client) == 1
    assert watch_once(client) == 0  # announced once, however often the watcher looks

    [overdue] = events("decision.overdue")
    assert overdue.subject == late["case_id"]
    assert (overdue.data.deadline, str(overdue.data.due_on)) == (
        "preliminary_decision",
        "2026-03-09",
    )
    read = client.get(f"/cases/{late['case_id']}", headers=auth(*CA)).json()
    assert read["deadlines"]["overdue"] is True


def test_public_holidays_move_the_deadline(client, auth, clock, screen) -> None:
    # Screened Friday 10 April 2026: Khmer New Year (14-16 April) is not worked.
    case = screen(encounter={"date": "2026-04-10"})
    read = client.get(f"/cases/{case['case_id']}", headers=auth(*CA)).json()
    assert read["deadlines"]["preliminary_due_on"] == "2026-04-22"

    clock.set_cambodian_day("2026-04-22")
    assert overdue_ids(client, auth) == []
    clock.set_cambodian_day("2026-04-23")
    assert overdue_ids(client, auth) == [case["case_id"]]


def test_a_decided_case_is_not_overdue(client, auth, clock, screen) -> None:
    case = screen()
    client.post(
        f"/cases/{case['case_id']}/decisions",
        json={"stage": "preliminary", "outcome": "not_identified", "rationale": "r"},
        headers=auth(*CA),
    )

    clock.set_cambodian_day("2026-06-01")

    assert overdue_ids(client, auth) == []
    assert watch_once(client) == 0


def test_the_final_decision_falls_due_45_days_after_a_positive_preliminary(
    client, auth, clock, screen, events
) -> None:
    case = screen()
    client.post(
        f"/cases/{case['case_id']}/decisions",
        json={"stage": "preliminary", "outcome": "identified", "rationale": "r"},
        headers=auth(*CA),
    )
    clock.set_cambodian_day("2026-04-16")
    assert overdue_ids(client, auth) == []

    clock.set_cambodian_day("2026-04-17")
    assert overdue_ids(client, auth) == [case["case_id"]]
    assert watch_once(client) == 1
    [overdue] = events("decision.overdue")
    assert (overdue.data.deadline, str(overdue.data.due_on)) == ("final_decision", "2026-04-16")


def test_the_preliminary_then_the_final_deadline_are_each_announced(
    client, auth, clock, screen, events
) -> None:
    case = screen()
    clock.set_cambodian_day("2026-03-12")
    watch_once(client)  # the preliminary decision is late
    client.post(
        f"/cases/{case['case_id']}/decisions",
        json={"stage": "preliminary", "outcome": "identified", "rationale": "late, but made"},
        headers=auth(*CA),
    )
    clock.set_cambodian_day("2026-05-01")
    watch_once(client)

    assert [e.data.deadline for e in events("decision.overdue")] == [
        "preliminary_decision",
        "final_decision",
    ]


def test_overdue_false_lists_the_cases_in_time(client, auth, clock, screen) -> None:
    late = screen()
    clock.set_cambodian_day("2026-03-12")
    in_time = screen(encounter={"date": "2026-03-11"})

    response = client.get("/cases", params={"overdue": "false"}, headers=auth(*CA))

    assert [c["id"] for c in response.json()["items"]] == [in_time["case_id"]]
    assert overdue_ids(client, auth) == [late["case_id"]]


@pytest.mark.parametrize("watch_seconds", [0.05])
def test_the_service_watches_deadlines_in_the_background(clock, screen, events) -> None:
    screen()
    clock.set_cambodian_day("2026-03-10")

    deadline = time.monotonic() + 10
    while not events("decision.overdue") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # several more rounds of the watcher

    assert len(events("decision.overdue")) == 1
