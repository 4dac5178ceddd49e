"""``python -m repatriation.simulator --country VNM --port 8014 --nrm-url ...``"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import uvicorn

from repatriation.domain.sop import SopLibrary
from repatriation.simulator.player import Counterpart
from repatriation.simulator.server import create_simulator

ROLE = "liaison_officer"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m repatriation.simulator",
        description="A counterpart agency (Viet Nam, Thailand...) playing its side of the SOPs.",
    )
    parser.add_argument("--country", required=True, help="ISO alpha-3 code it plays, e.g. VNM")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--nrm-url", default="http://127.0.0.1:8004", help="repatriation service")
    parser.add_argument(
        "--secret",
        default=os.environ.get("SIMULATOR_SECRET"),
        help="shared HMAC secret (or SIMULATOR_SECRET)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("SIMULATOR_TOKEN"),
        help="bearer token of the agency (or SIMULATOR_TOKEN); else minted with --org",
    )
    parser.add_argument("--org", help="organisation to mint dev tokens for, e.g. vnm-molisa")
    parser.add_argument("--keys-dir", type=Path, default=None, help="dev token keys directory")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds before each reply")
    parser.add_argument(
        "--refuse",
        action="append",
        default=[],
        metavar="STEP",
        help="never complete this step (an alternative is taken if the SOP has one)",
    )
    parser.add_argument(
        "--fail-first", type=int, default=0, help="answer 503 to the first N deliveries"
    )
    parser.add_argument("--sop-dir", type=Path, action="append", default=[])
    return parser


def token_source(
    token: str | None, organisation: str | None, keys_dir: Path | None
) -> Callable[[], str]:
    if token:
        return lambda: token
    if not organisation:
        raise SystemExit("give --token (or SIMULATOR_TOKEN), or --org to mint dev tokens")
    from nrm_runtime.devtokens import mint_token

    return lambda: mint_token(organisation=organisation, roles=[ROLE], directory=keys_dir)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.secret:
        raise SystemExit("give --secret (or SIMULATOR_SECRET): the bilateral HMAC secret")
    counterpart = Counterpart(
        country=args.country,
        nrm_url=args.nrm_url.rstrip("/"),
        secret=args.secret,
        token=token_source(args.token, args.org, args.keys_dir),
        library=SopLibrary.load(args.sop_dir),
        delay=args.delay,
        refuse=frozenset(args.refuse),
    )
    app = create_simulator(counterpart, fail_first=args.fail_first)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
