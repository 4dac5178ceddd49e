"""SQL statements per request: identification's screening, decision and audited read,
counted on the app in this process (no broker: the relay waits, nothing else polls).

    .venv/bin/python bench/sql_counts.py [--known 2000] [--profile]

``--profile`` also writes a cProfile of each kind of request to ``var/bench/profile-*.pstats``
(read with ``python -m pstats`` or snakeviz). Counts include the audit entry and the
outbox row the request writes; the sequencer's and relay's work happen later, elsewhere.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from request_cost import load_known_records, synthetic_screenings
from sqlalchemy import event

from nrm_deploy.testing import bearer
from nrm_runtime.devtokens import ensure_dev_keys, mint_token
from nrm_runtime.field_crypto import create_key_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--known", type=int, default=0, help="records in the person index")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--report", type=Path, default=Path("var/bench/sql-counts.json"))
    args = parser.parse_args(argv)

    from identification.app import create_app
    from identification.settings import IdentificationSettings

    with tempfile.TemporaryDirectory(prefix="nrm-sql-") as directory:
        work = Path(directory)
        keys = work / "keys"
        ensure_dev_keys(keys)
        create_key_file(keys / "field-keys.json")
        if args.known:
            load_known_records(work / "identification.db", keys / "field-keys.json", args.known)
        settings = IdentificationSettings(
            environment="test",
            database_url=f"sqlite+aiosqlite:///{work / 'identification.db'}",
            kafka_bootstrap_servers="127.0.0.1:1",
            jwt_jwks_file=keys / "dev-jwks.json",
            field_keys_file=keys / "field-keys.json",
            audit_sequencer_seconds=3600,
            auth_failure_share_seconds=3600,
            log_level="ERROR",
        )
        screener = bearer(mint_token(organisation="moi-dahtjp", roles=["screener"], directory=keys))
        authority = bearer(
            mint_token(organisation="mosvy", roles=["competent_authority"], directory=keys)
        )
        forms = synthetic_screenings(args.known, args.requests)
        app = create_app(settings)
        statements: Counter[str] = Counter()
        counts: dict[str, list[int]] = {"screening": [], "decision": [], "audited_read": []}
        with TestClient(app) as client:
            engine = app.state.database.engine.sync_engine

            @event.listens_for(engine, "before_cursor_execute")
            def count(*_args: Any) -> None:
                statements["total"] += 1

            def measured(kind: str, call: Any) -> Any:
                statements.clear()
                profiler = cProfile.Profile() if args.profile else None
                if profiler:
                    profiler.enable()
                response = call()
                if profiler:
                    profiler.disable()
                    path = args.report.parent / f"profile-{kind}.pstats"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    profiler.dump_stats(path)
                response.raise_for_status()
                counts[kind].append(statements["total"])
                return response.json()

            for form in forms:
                screening = measured(
                    "screening", lambda f=form: client.post("/screenings", json=f, headers=screener)
                )
                measured(
                    "decision",
                    lambda s=screening: client.post(
                        f"/cases/{s['case_id']}/decisions",
                        json={"stage": "preliminary", "outcome": "identified", "rationale": "b"},
                        headers=authority,
                    ),
                )
                measured(
                    "audited_read",
                    lambda s=screening: client.get(f"/screenings/{s['id']}", headers=screener),
                )
    report = {
        kind: {"min": min(v), "max": max(v), "mean": round(sum(v) / len(v), 1)}
        for kind, v in counts.items()
    }
    report["known_records"] = args.known  # type: ignore[assignment,unused-ignore]
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
