"""The chaos suite's figures, as JSON and a Markdown table.

- lost: an acknowledged decision with no referral case at the end of the run;
- doubled: more than one referral case for one identification case;
- delay: from the decision's acknowledgement to its referral case's opening, for
  decisions acknowledged during a fault and for those acknowledged outside any;
- recovery (per fault): from the broken part's return to the opening of the last
  referral case among the decisions acknowledged before it returned (0 when they
  were all open by then).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nrm_deploy.chaos_cases import Cases
from nrm_deploy.chaos_faults import Fault
from nrm_deploy.chaos_load import Decision, Load


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def delays(decisions: list[Decision], cases: Cases) -> dict[str, float]:
    """Seconds from acknowledgement to case opened, per case id that has one."""
    return {
        d.case_id: max(0.0, cases.opened_at[d.case_id] - d.acknowledged_at)
        for d in decisions
        if d.acknowledged_at is not None and d.case_id in cases.opened_at
    }


def recovery_seconds(fault: Fault, acknowledged: list[Decision], cases: Cases) -> float | None:
    """None if a decision acknowledged before the fault ended has no case at all."""
    pending = [d for d in acknowledged if d.acknowledged_at and d.acknowledged_at <= fault.ended_at]
    opened = [cases.opened_at.get(d.case_id) for d in pending]
    if any(moment is None for moment in opened):
        return None
    latest = max((m for m in opened if m is not None), default=fault.ended_at)
    return round(max(0.0, latest - fault.ended_at), 1)


def during_any(moment: float, faults: list[Fault]) -> bool:
    return any(f.started_at <= moment <= f.ended_at for f in faults)


def summarise(
    profile: str,
    load: Load,
    cases: Cases,
    faults: list[Fault],
    checks: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    acknowledged = load.acknowledged()
    ids = {d.case_id for d in load.decisions}
    delay = delays(acknowledged, cases)
    acknowledged_at = {d.case_id: d.acknowledged_at or 0.0 for d in acknowledged}
    during = [v for k, v in delay.items() if during_any(acknowledged_at[k], faults)]
    after = [v for k, v in delay.items() if not during_any(acknowledged_at[k], faults)]
    fault_rows = []
    for fault in faults:
        row = {**asdict(fault), "recovery_seconds": recovery_seconds(fault, acknowledged, cases)}
        fault_rows.append(row)
    outages = [row for row in fault_rows if row["outage"]]
    return {
        "profile": profile,
        "seconds": round(seconds, 1),
        "screenings_sent": load.screenings_sent,
        "screenings_refused": load.screenings_failed,
        "sent": len(load.decisions),
        "acknowledged": len(acknowledged),
        "referral_cases": sum(count for case, count in cases.count.items() if case in ids),
        "lost": sum(1 for d in acknowledged if d.case_id not in cases.count),
        "doubled": sum(1 for case, count in cases.count.items() if case in ids and count > 1),
        "unacknowledged_with_case": sum(
            1 for d in load.decisions if d.acknowledged_at is None and d.case_id in cases.count
        ),
        "leader_kills": sum(1 for f in faults if f.name == "leader kill"),
        "faults": fault_rows,
        "delay_seconds": {
            "during_faults": _percentiles(during),
            "after_faults": _percentiles(after),
        },
        "recovery_seconds": {
            "max": max((r["recovery_seconds"] or 0.0 for r in fault_rows), default=0.0),
            "max_after_broker_outage": max(
                (r["recovery_seconds"] for r in outages if r["recovery_seconds"] is not None),
                default=None,
            ),
            "broker_outage_unrecovered": sum(1 for r in outages if r["recovery_seconds"] is None),
        },
        "checks": checks,
    }


def _percentiles(values: list[float]) -> dict[str, float | int | None]:
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    return {
        "count": len(values),
        "p50": None if p50 is None else round(p50, 2),
        "p99": None if p99 is None else round(p99, 2),
    }


def markdown(report: dict[str, Any]) -> str:
    delay = report["delay_seconds"]
    recovery = report["recovery_seconds"]
    lines = [
        f"# Chaos report ({report['profile']}, {report['seconds']:.0f} s)",
        "",
        "| sent | acknowledged | referral cases | lost | doubled | faults | leader kills "
        "| delay p50/p99 during faults (s) | delay p50/p99 after faults (s) "
        "| max recovery after broker outage (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {report['sent']} | {report['acknowledged']} | {report['referral_cases']} "
        f"| {report['lost']} | {report['doubled']} | {len(report['faults'])} "
        f"| {report['leader_kills']} "
        f"| {delay['during_faults']['p50']} / {delay['during_faults']['p99']} "
        f"| {delay['after_faults']['p50']} / {delay['after_faults']['p99']} "
        f"| {recovery['max_after_broker_outage']} |",
        "",
        "| fault | details | recovery (s) |",
        "|---|---|---:|",
    ]
    for fault in report["faults"]:
        details = ", ".join(f"{k} {json.dumps(v)}" for k, v in fault["details"].items())
        lines.append(f"| {fault['name']} | {details} | {fault['recovery_seconds']} |")
    lines += ["", "Checks:", "", "```json", json.dumps(report["checks"], indent=2), "```", ""]
    return "\n".join(lines)


def write(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_file = directory / f"chaos-{report['profile']}.json"
    markdown_file = directory / f"chaos-{report['profile']}.md"
    json_file.write_text(json.dumps(report, indent=2) + "\n")
    markdown_file.write_text(markdown(report))
    return json_file, markdown_file
