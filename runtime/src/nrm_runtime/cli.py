"""``nrm``: the backbone's command line (dev tokens and keys)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nrm_runtime.auth import OrganisationType, Role
from nrm_runtime.devtokens import ensure_dev_keys, mint_token, rotate_dev_key
from nrm_runtime.schema import autogenerate_revision, history_of


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nrm", description="NRM backbone command line")
    parser.add_argument(
        "--keys-dir",
        type=Path,
        default=None,
        help="where the dev signing key lives (default var/keys of this checkout)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    token = commands.add_parser("token", help="mint a dev bearer token")
    token.add_argument("--org", required=True, help="organisation id, e.g. moi-dahtjp")
    token.add_argument(
        "--role",
        required=True,
        action="append",
        choices=[r.value for r in Role],
        help="role (repeat for several)",
    )
    token.add_argument("--org-type", choices=[t.value for t in OrganisationType])
    token.add_argument("--subject", help="user id (default dev-user@ORG)")
    token.add_argument("--ttl-minutes", type=int, default=480)

    keys = commands.add_parser("keys", help="dev signing keys")
    keys.add_argument("action", choices=["init", "rotate"])

    migration = commands.add_parser(
        "migration", help="write the next schema revision of a service (or 'runtime')"
    )
    migration.add_argument("history", help="runtime, identification, referral, ...")
    migration.add_argument("-m", "--message", required=True, help="what changed")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "token":
        try:
            print(
                mint_token(
                    organisation=args.org,
                    roles=args.role,
                    organisation_type=args.org_type,
                    subject=args.subject,
                    ttl_seconds=args.ttl_minutes * 60,
                    directory=args.keys_dir,
                )
            )
        except ValueError as error:
            print(f"nrm token: {error}", file=sys.stderr)
            return 2
        return 0
    if args.command == "migration":
        autogenerate_revision(history_of(args.history), args.message)
        return 0
    rotate = args.action == "rotate"
    jwks = rotate_dev_key(args.keys_dir) if rotate else ensure_dev_keys(args.keys_dir)
    print(f"dev token keys: {jwks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
