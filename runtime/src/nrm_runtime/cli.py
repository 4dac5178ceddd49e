"""``nrm``: the backbone's command line (dev tokens and keys; services add their own
sub-commands through the ``nrm.commands`` entry point group)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from importlib.metadata import entry_points
from pathlib import Path

from nrm_runtime.auth import OrganisationType, Role
from nrm_runtime.devtokens import ensure_dev_keys, keys_dir, mint_token, rotate_dev_key
from nrm_runtime.field_crypto import KeyRing, add_key, create_key_file
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

    keys = commands.add_parser(
        "keys",
        help="dev keys: init (token and field keys), rotate (token key), rotate-field-key "
        "(a new field encryption key), rotate-data (reseal a service's data with it)",
    )
    keys.add_argument("action", choices=["init", "rotate", "rotate-field-key", "rotate-data"])
    keys.add_argument("--field-keys-file", type=Path, help="default var/keys/field-keys.json")
    keys.add_argument("--service", help="rotate-data: the service (its store.SEALED_FIELDS)")
    keys.add_argument("--database-url", help="rotate-data: the service's database")

    migration = commands.add_parser(
        "migration", help="write the next schema revision of a service (or 'runtime')"
    )
    migration.add_argument("history", help="runtime, identification, referral, ...")
    migration.add_argument("-m", "--message", required=True, help="what changed")
    audit = commands.add_parser(
        "audit",
        help="a service's audit log: verify (against the tree heads it published, from a "
        "file or its topic), heads (the heads it stored, one JSON object a line)",
    )
    audit.add_argument("action", choices=["verify", "heads"])
    audit.add_argument("--database-url", required=True, help="the service's database")
    audit.add_argument("--log-id", help="verify: the log (the service's name)")
    audit.add_argument("--heads-file", type=Path, help="verify: published heads, JSON lines")
    audit.add_argument(
        "--topic", help="verify: read the published heads from this topic (nrm.<service>.audit)"
    )
    audit.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    audit.add_argument(
        "--public-key", help="verify: the log's Ed25519 public key (base64): trust no other"
    )
    _add_service_commands(commands)
    return parser


COMMANDS_GROUP = "nrm.commands"


def _add_service_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Sub-commands services declare in the ``nrm.commands`` entry point group, so that
    the runtime never imports a service: each entry point is a function that adds its
    parser to ``commands`` and sets ``run`` (``args -> exit status``) as its default."""
    for command in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        command.load()(commands)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "run", None) is not None:
        status: int = args.run(args)
        return status
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
    if args.command == "audit":
        return _audit_command(args)
    if args.command == "migration":
        autogenerate_revision(history_of(args.history), args.message)
        return 0
    return _keys_command(args)


def _keys_command(args: argparse.Namespace) -> int:
    field_keys: Path = args.field_keys_file or (args.keys_dir or keys_dir()) / "field-keys.json"
    if args.action == "rotate-field-key":
        print(f"new field key {add_key(field_keys)} in {field_keys}")
        return 0
    if args.action == "rotate-data":
        if not (args.service and args.database_url):
            print(
                "nrm keys rotate-data: --service and --database-url are required", file=sys.stderr
            )
            return 2
        report = asyncio.run(rotate_service_data(args.service, args.database_url, field_keys))
        for table, count in report.items():
            print(f"{table}: {count} value(s) resealed")
        return 0
    rotate = args.action == "rotate"
    jwks = rotate_dev_key(args.keys_dir) if rotate else ensure_dev_keys(args.keys_dir)
    print(f"dev token keys: {jwks}")
    print(f"field encryption keys: {create_key_file(field_keys)}")
    return 0


def _audit_command(args: argparse.Namespace) -> int:
    import base64
    import json

    from nrm_runtime import audit_verify

    if args.action == "heads":
        for head in asyncio.run(audit_verify.stored_heads(args.database_url)):
            print(json.dumps(head.as_fields()))
        return 0
    if not args.log_id:
        print("nrm audit verify: --log-id is required (the service's name)", file=sys.stderr)
        return 2
    heads = []
    if args.heads_file:
        heads += audit_verify.heads_of_file(args.heads_file, args.log_id)
    if args.topic:
        heads += asyncio.run(
            audit_verify.heads_of_topic(args.bootstrap_servers, args.topic, args.log_id)
        )
    trusted = base64.b64decode(args.public_key, validate=True) if args.public_key else None
    result = asyncio.run(audit_verify.verify_database(args.database_url, heads, trusted))
    if result.intact:
        print(f"intact: {result.entries} entries, checked against {len(heads)} published head(s)")
        return 0
    print(
        f"BROKEN at entry {result.broken_at}: {result.reason} "
        f"({result.entries} entries verified before it)"
    )
    return 1


async def rotate_service_data(service: str, database_url: str, field_keys: Path) -> dict[str, int]:
    """Reseal ``service``'s sealed values (where its registered storage keeps them)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from nrm_runtime.field_rotation import rotate_sealed_values
    from nrm_runtime.registration import storage_of

    sealed = storage_of(service).sealed_fields
    engine = create_async_engine(database_url)
    try:
        report = await rotate_sealed_values(engine, KeyRing.load(field_keys), sealed)
    finally:
        await engine.dispose()
    return report.resealed


if __name__ == "__main__":
    sys.exit(main())
