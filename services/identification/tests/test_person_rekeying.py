"""``nrm person-index rekey``: every known record filed again under the keys the matcher
uses now, no link changed, audited; nothing changes when the keys are current."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from identification.legacy_import.mapping import Source, load_mapping
from identification.legacy_import.samples import write_export
from identification.person_index.synthetic import generate

RECORDS = 300
OPERATOR = ("--operator", "index-keeper@mosvy")


def _rows(database: Path, query: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(database)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def _execute(database: Path, statement: str) -> None:
    connection = sqlite3.connect(database)
    try:
        connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def _figures(out: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in out.splitlines())


@pytest.fixture
def imported(run_nrm, tmp_path: Path, identification_db: Path) -> Path:
    """An index of generated police records, as an import files them."""
    mapping = load_mapping(Source.POLICE_CASE)
    path = write_export(generate(RECORDS, seed=31), mapping, tmp_path / "police.csv")
    status, out, _ = run_nrm("import", str(path), "--source", "police-case", *OPERATOR)
    assert status == 0, out
    return identification_db


def _keys(database: Path) -> set[tuple[object, ...]]:
    return set(_rows(database, "SELECT screening_id, digest FROM person_block_key"))


def _links(database: Path) -> list[tuple[object, ...]]:
    return sorted(_rows(database, "SELECT screening_id, person_id FROM person_record"))


def test_an_index_filed_under_the_current_keys_is_left_as_it_is(
    run_nrm, imported: Path, words_follow_the_records
) -> None:
    keys_before, links_before = _keys(imported), _links(imported)
    assert words_follow_the_records()  # as the import left them

    status, out, _ = run_nrm("person-index", "rekey", *OPERATOR)

    assert status == 0
    figures = _figures(out)
    assert figures["records"] == str(RECORDS)
    assert figures["records rekeyed"] == "0"
    assert figures["keys before"] == figures["keys after"] == str(len(keys_before))
    assert (_keys(imported), _links(imported)) == (keys_before, links_before)


def test_records_filed_under_old_keys_are_filed_again_and_no_link_moves(
    run_nrm, imported: Path, words_follow_the_records
) -> None:
    current, links_before = _keys(imported), _links(imported)
    screenings = sorted({row[0] for row in current})
    # As an older version filed them: some records without their keys, one with a key
    # the matcher no longer makes.
    missing, stale = screenings[:40], screenings[40]
    placeholders = ",".join(f"'{screening}'" for screening in missing)
    _execute(imported, f"DELETE FROM person_block_key WHERE screening_id IN ({placeholders})")
    _execute(
        imported,
        f"INSERT INTO person_block_key (digest, screening_id) VALUES ('{'0' * 64}', '{stale}')",
    )

    status, out, _ = run_nrm("person-index", "rekey", *OPERATOR)

    assert status == 0
    assert _figures(out)["records rekeyed"] == str(len(missing) + 1)
    assert _keys(imported) == current
    assert _links(imported) == links_before
    assert words_follow_the_records()


def test_a_rekeying_is_audited_as_the_operators_for_the_operating_organisation(
    run_nrm, imported: Path
) -> None:
    status, out, _ = run_nrm("person-index", "rekey", *OPERATOR)

    assert status == 0
    [entry] = _rows(
        imported,
        "SELECT subject, organisation, action, resource_type, resource_id FROM audit_entry "
        "WHERE purpose = 'person_index_rekeying'",
    )
    assert entry == ("index-keeper@mosvy", "mosvy", "write", "person_index", _figures(out)["run"])


def test_the_summary_holds_counts_only(run_nrm, imported: Path) -> None:
    records = generate(RECORDS, seed=31)
    status, out, err = run_nrm("person-index", "rekey", *OPERATOR)
    assert status == 0
    names = {r.family_name for r in records if len(r.family_name) > 3}
    assert not any(name in out + err for name in names)


def test_an_operating_organisation_not_registered_changes_nothing(
    run_nrm, imported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTIFICATION_OPERATING_ORGANISATION", "no-such-ministry")
    keys_before = _keys(imported)
    _execute(imported, "DELETE FROM person_block_key")

    status, out, err = run_nrm("person-index", "rekey", *OPERATOR)

    assert status == 2
    assert "operating organisation" in err
    assert out == ""
    assert _keys(imported) == set() != keys_before
