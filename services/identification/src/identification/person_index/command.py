"""``nrm person-index rekey``: file every known record again under the keys the
matcher uses now (after an upgrade that changed them; see
:mod:`identification.person_index.rekeying`). Registered with the ``nrm`` command line through
the ``nrm.commands`` entry point group.

Exit status: 0 done; 2 the settings cannot be used (nothing changed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, TextIO

from identification.entrypoints.cli import add_database_options, open_store, operator_of

if TYPE_CHECKING:
    from identification.settings import IdentificationSettings
    from nrm_runtime.auth import Principal

EXIT_UNUSABLE = 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``person-index`` sub-command (called by ``nrm`` for the entry point)."""
    parser = commands.add_parser(
        "person-index",
        help="maintain identification's person index",
        description="Maintain identification's person index.",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    rekey = actions.add_parser(
        "rekey",
        help="file every known record again under the matcher's current keys",
        description="Recompute the stored keys (blocks, name words) of every record in the "
        "person index, after an upgrade that changed them. Links, persons and reviews are "
        "left as they are. One transaction; live screenings arriving meanwhile are linked "
        "after it.",
    )
    add_database_options(rekey)
    rekey.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``nrm person-index rekey`` with parsed arguments; the exit status."""
    return asyncio.run(_run(args, sys.stdout, sys.stderr))


async def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # Imported here, not at the top: ``nrm --help`` should not load the service.
    from identification.person_index.rekeying import rekey_person_index

    store = await open_store(args, "person-index rekey", err)
    if store is None:
        return EXIT_UNUSABLE
    try:
        operator = _operator(store.settings, operator_of(args))
        if operator is None:
            print(
                "nrm person-index rekey: set the operating organisation, one of the "
                "organisations registry (IDENTIFICATION_OPERATING_ORGANISATION, "
                "IDENTIFICATION_ORGANISATIONS_FILE)",
                file=err,
            )
            return EXIT_UNUSABLE
        summary = await rekey_person_index(store.database, store.keys, operator=operator)
    finally:
        await store.database.dispose()
    print(f"run: {summary.run_id}", file=out)
    print(f"records: {summary.records}", file=out)
    print(f"records rekeyed: {summary.records_rekeyed}", file=out)
    print(f"keys before: {summary.keys_before}", file=out)
    print(f"keys after: {summary.keys_after}", file=out)
    return 0


def _operator(settings: IdentificationSettings, subject: str) -> Principal | None:
    """Who rekeys: the operator, for the organisation that runs the service (it is its
    own maintenance of its index); None when that organisation is not registered."""
    from nrm_runtime.auth import Principal, Role
    from nrm_runtime.organisations import OrganisationRegistry

    if settings.operating_organisation is None or settings.organisations_file is None:
        return None
    registry = OrganisationRegistry.load(settings.organisations_file)
    organisation = registry.get(settings.operating_organisation)
    if organisation is None:
        return None
    return Principal(
        subject=subject,
        organisation=organisation.id,
        organisation_type=organisation.type,
        roles=frozenset({Role.ADMIN}),
    )
