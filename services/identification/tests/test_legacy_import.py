"""``nrm import``: legacy exports into the person index, through the same matching as
live screenings, in one transaction, once, audited, with nothing personal printed."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from identification.legacy_import import writing
from identification.legacy_import.mapping import Source, load_mapping
from identification.legacy_import.report import Progress
from identification.legacy_import.samples import write_export
from identification.person_index.synthetic import generate
from nrm_runtime.field_crypto import KeyRing

POLICE_HEADER = (
    "victim_ref,victim_surname,victim_name,victim_surname_kh,victim_name_kh,victim_alias,"
    "sex,date_of_birth,age_at_rescue,nationality,province_of_operation,operation_date,"
    "exploitation,suspect_name,charges"
)
# Two records of one person (two cases, two provinces), another person, an impossible
# age. The names are not among the generated population's (spelling variants are the
# matcher's own tests).
POLICE_ROWS = [
    "PP-2019-1-V1,Pheng,Rotanak,ផេង,រតនៈ,,F,17/05/2001,,Cambodian,Battambang,02/03/2019,"
    "prostitution,Suspect One,Art. 8",
    "SR-2020-7-V2,Pheng,Rotanak,,,,F,17/05/2001,,Cambodian,Siem Reap,11/08/2020,prostitution,,",
    "PP-2021-3-V1,Yoeun,Sothy,,,,M,03/11/1994,,Cambodian,Phnom Penh,05/01/2021,forced labour,,",
    "PP-2021-4-V1,Meas,Bopha,,,,F,,140,Cambodian,Kampot,05/01/2021,begging,,",
]
PERSONAL_VALUES = ["Pheng", "Rotanak", "ផេង", "រតនៈ", "17/05/2001", "2001-05-17", "Yoeun",
                   "Bopha", "PP-2019-1-V1", "Suspect One"]  # fmt: skip
TABLES = [
    "screening", "person", "person_record", "person_block_key", "person_link_history",
    "review_pair", "legacy_record", "legacy_import_run", "outbox", "audit_entry",
]  # fmt: skip


@pytest.fixture
def min_cell() -> int:
    """Statistics show single persons here: the import's counts are what is tested."""
    return 1


@pytest.fixture
def populated(run_import, tmp_path: Path) -> int:
    """The index holds a population (400 generated NGO records), as a real one does: a
    name's weight depends on how common its words are among the persons known."""
    mapping = load_mapping(Source.NGO_JOINT)
    path = write_export(generate(400, seed=77), mapping, tmp_path / "population.csv")
    status, out, _ = run_import(path, "ngo-joint")
    assert status == 0, out
    return int(_figures(out)["new persons"])


@pytest.fixture
def police_export(tmp_path: Path) -> Path:
    path = tmp_path / "police.csv"
    path.write_text("\n".join([POLICE_HEADER, *POLICE_ROWS]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def run_import(run_nrm) -> Callable[..., tuple[int, str, str]]:
    """``run_import(file, "police-case", "--all-or-nothing")``: exit status, stdout, stderr."""

    def _run(path: Path, source: str, *options: str) -> tuple[int, str, str]:
        operator = ("--operator", "data-officer@moi-dahtjp")
        result: tuple[int, str, str] = run_nrm(
            "import", str(path), "--source", source, *operator, *options
        )
        return result

    return _run


def _rows(database: Path, query: str) -> list[sqlite3.Row]:
    if not database.exists():
        return []
    connection = sqlite3.connect(database)
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def _counts(database: Path) -> dict[str, int]:
    if not database.exists():
        return {}
    return {table: len(_rows(database, f"SELECT * FROM {table}")) for table in TABLES}


def _figures(out: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in out.splitlines() if not line.startswith("rejected"))


def test_an_export_is_imported_with_a_summary_of_what_it_did(
    populated: int, run_import, police_export: Path, identification_db: Path
) -> None:
    status, out, _ = run_import(police_export, "police-case")
    assert status == 0
    figures = _figures(out)
    assert {k: figures[k] for k in (
        "rows read", "rows rejected", "rows imported", "new persons", "auto-linked",
        "sent to review", "rows already imported (skipped)",
    )} == {
        "rows read": "4", "rows rejected": "1", "rows imported": "3", "new persons": "2",
        "auto-linked": "1", "sent to review": "0", "rows already imported (skipped)": "0",
    }  # fmt: skip
    assert "rejected row 5, column age_at_rescue: impossible: more than 120 years" in out
    [run] = _rows(identification_db, "SELECT * FROM legacy_import_run WHERE source = 'police-case'")
    assert (run["rows_imported"], run["new_persons"], run["auto_linked"]) == (3, 2, 1)
    assert figures["run"] == str(UUID(run["id"]))
    persons = _rows(identification_db, "SELECT DISTINCT person_id FROM person_record")
    assert len(persons) == populated + 2


def test_the_summary_figures_are_what_the_run_wrote(
    run_import, tmp_path: Path, identification_db: Path
) -> None:
    mapping = load_mapping(Source.POLICE_CASE)
    path = write_export(generate(300, seed=5), mapping, tmp_path / "police.csv")
    status, out, _ = run_import(path, "police-case")
    assert status == 0
    figures = _figures(out)

    def count(query: str) -> str:
        return str(_rows(identification_db, query)[0][0])

    assert figures["rows imported"] == count("SELECT COUNT(*) FROM legacy_record") == "300"
    assert figures["new persons"] == count("SELECT COUNT(DISTINCT person_id) FROM person_record")
    assert figures["auto-linked"] == count(
        "SELECT COUNT(*) FROM person_record WHERE basis = 'automatic'"
    )
    assert figures["sent to review"] == count(
        "SELECT COUNT(DISTINCT screening_id) FROM review_pair WHERE status = 'open'"
    )
    assert int(figures["auto-linked"]) > 0  # generated persons are met by 1 to 5 agencies


def test_imported_records_are_sealed_like_screenings_and_belong_to_the_source(
    run_import, police_export: Path, identification_db: Path, field_keys: Path
) -> None:
    run_import(police_export, "police-case")
    ring = KeyRing.load(field_keys)
    [screening] = _rows(
        identification_db,
        "SELECT s.* FROM screening s JOIN legacy_record l ON l.screening_id = s.id "
        "WHERE l.source_record_id = 'PP-2019-1-V1'",
    )
    assert "Rotanak" not in json.dumps(dict(screening), default=str)

    def opened(column: str) -> str:
        return ring.open(
            screening[column], table="screening", record_id=str(UUID(screening["id"])), field=column
        )

    assert (opened("given_name_sealed"), opened("family_name_khmer_sealed")) == ("Rotanak", "ផេង")
    assert opened("birth_date_sealed") == "2001-05-17"
    assert (screening["reporting_organisation"], screening["encounter_type"]) == (
        "moi-dahtjp",
        "police_operation",
    )
    assert (screening["province_code"], screening["sex"], screening["nationality"]) == (
        "02",
        "female",
        "KHM",
    )
    assert json.loads(screening["purposes"]) == ["sexual_exploitation"]
    assert screening["age_band"] == "12_to_17"


MOSVY = (
    "registration_no,family_name_kh,given_name_kh,family_name_latin,given_name_latin,sex,"
    "date_of_birth,age,nationality,province,registration_date,type_of_exploitation,referred_by\n"
    "M-1,សុខ,ដារា,,,ស្រី,១៧/០៥/២០០១,,ខ្មែរ,បាត់ដំបង,០២/០៣/២០១៥,ការកេងប្រវ័ញ្ចផ្លូវភេទ,police\n"
    "M-2,,,Nguyen,Thi Lan,F,1999,,Vietnamese,18,2016-06-05,begging,\n"
)
NGO = (
    "case_code,reporting_ngo,first_name,last_name,gender,date_of_birth,age,nationality,"
    "province,date_reported,type_of_case\n"
    "NGO-2010-39,ngo-x,Sreymom,Keo,Female,,15,Cambodian,Siem Reap,2010-11-03,"
    "Trafficking for sexual exploitation\n"
    "NGO-2010-40,ngo-y,Tuan,Tran,Male,1990-02-01,,Vietnamese,Koh Kong,2010-12-01,"
    "Trafficking for labour exploitation\n"
)


@pytest.mark.parametrize(
    ("source", "text", "organisation", "provinces"),
    [
        ("mosvy-registration", MOSVY, "mosvy", {"02", "18"}),
        ("ngo-joint", NGO, "ecpat-cambodia", {"17", "09"}),
    ],
)
def test_each_source_is_imported_through_its_mapping(
    run_import, tmp_path: Path, identification_db: Path, source, text, organisation, provinces
) -> None:
    path = tmp_path / f"{source}.csv"
    path.write_text(text, encoding="utf-8")
    status, out, _ = run_import(path, source)
    assert status == 0 and _figures(out)["rows imported"] == "2"
    screenings = _rows(identification_db, "SELECT * FROM screening")
    assert {s["reporting_organisation"] for s in screenings} == {organisation}
    assert {s["province_code"] for s in screenings} == provinces
    sources = _rows(identification_db, "SELECT DISTINCT source FROM legacy_record")
    assert [row["source"] for row in sources] == [source]


@pytest.mark.parametrize("all_or_nothing", [False, True])
def test_rejected_rows_leave_the_rest_imported_or_nothing_when_the_user_chose(
    run_import, police_export: Path, identification_db: Path, all_or_nothing: bool
) -> None:
    options = ["--all-or-nothing"] if all_or_nothing else []
    status, out, err = run_import(police_export, "police-case", *options)
    assert "rejected row 5, column age_at_rescue" in out
    imported = _rows(identification_db, "SELECT * FROM legacy_record")
    if all_or_nothing:
        assert status == 1
        assert "nothing imported" in err
        assert imported == [] and _rows(identification_db, "SELECT * FROM audit_entry") == []
    else:
        assert status == 0 and len(imported) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            (POLICE_HEADER.replace("victim_ref,", "") + "\n").encode(),
            "missing required column(s) for police-case: victim_ref",
        ),
        (
            f"{POLICE_HEADER}\n{POLICE_ROWS[0]}\n".encode() + "Sokhä,\n".encode("cp1252"),
            "is not UTF-8: line 3",
        ),
        (b"", "no header row"),
    ],
    ids=["wrong columns", "bad encoding", "empty file"],
)
def test_an_unusable_file_imports_nothing_and_says_why(
    run_import, tmp_path: Path, identification_db: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    status, _, err = run_import(path, "police-case")
    assert status == 2
    assert message in err and "nothing imported" in err
    assert _rows(identification_db, "SELECT * FROM legacy_record") == []


def test_running_the_same_file_again_imports_nothing_new(
    run_import, police_export: Path, identification_db: Path
) -> None:
    run_import(police_export, "police-case")
    before = _counts(identification_db)
    status, out, _ = run_import(police_export, "police-case")
    assert status == 0
    figures = _figures(out)
    assert (figures["rows imported"], figures["rows already imported (skipped)"]) == ("0", "3")
    after = _counts(identification_db)
    # Only the second run's own record and its audit entry are new.
    assert {t: after[t] - before[t] for t in TABLES if after[t] != before[t]} == {
        "legacy_import_run": 1,
        "audit_entry": 1,
    }


def test_an_import_failing_midway_leaves_the_database_as_it_was(
    run_import, police_export: Path, tmp_path: Path, identification_db: Path, monkeypatch
) -> None:
    run_import(police_export, "police-case")
    before = _counts(identification_db)
    written = 0
    insert = writing.insert_rows

    async def failing_once_rows_are_written(session: Any, table: Any, rows: Any) -> None:
        # The run, its persons and screenings are in when the error comes.
        nonlocal written
        if written >= 3:
            raise RuntimeError("the disk is full")
        written += len(rows)
        await insert(session, table, rows)

    monkeypatch.setattr(writing, "insert_rows", failing_once_rows_are_written)
    later = tmp_path / "later.csv"
    later.write_text(MOSVY.replace("registration_no", "x", 0), encoding="utf-8")
    with pytest.raises(RuntimeError, match="the disk is full"):
        run_import(later, "mosvy-registration")
    assert _counts(identification_db) == before
    monkeypatch.setattr(writing, "insert_rows", insert)
    status, out, _ = run_import(later, "mosvy-registration")
    assert status == 0 and _figures(out)["rows imported"] == "2"


def test_each_run_writes_one_audit_entry_naming_the_run_and_the_operator(
    run_import, police_export: Path, identification_db: Path
) -> None:
    run_import(police_export, "police-case")
    [run] = _rows(identification_db, "SELECT * FROM legacy_import_run")
    [entry] = _rows(identification_db, "SELECT * FROM audit_entry")
    assert (entry["action"], entry["resource_type"], entry["purpose"]) == (
        "write",
        "legacy_import_run",
        "legacy_import",
    )
    assert entry["resource_id"] == str(UUID(run["id"]))
    assert (entry["subject"], entry["organisation"]) == ("data-officer@moi-dahtjp", "moi-dahtjp")


def test_automatic_links_are_announced_with_ids_only(
    populated: int,
    run_import,
    police_export: Path,
    identification_db: Path,
    events: Callable[[str], list[Any]],
) -> None:
    run_import(police_export, "police-case")
    [second] = _rows(
        identification_db,
        "SELECT screening_id FROM legacy_record WHERE source_record_id = 'SR-2020-7-V2'",
    )
    linked = [e for e in events("person.linked") if e.data.screening_id.hex == second[0]]
    [event] = linked
    assert event.data.basis == "automatic" and event.data.score is not None
    assert str(event.actor) == "moi-dahtjp/admin"
    text = event.to_kafka().value.decode()
    assert [value for value in PERSONAL_VALUES if value in text] == []


def test_nothing_personal_is_printed_or_logged(
    run_import, police_export: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")  # the services' log level (aiosqlite's DEBUG shows statements)
    _, out, err = run_import(police_export, "police-case")
    _, out_again, err_again = run_import(police_export, "police-case", "--all-or-nothing")
    printed = "\n".join([out, err, out_again, err_again, caplog.text])
    assert [value for value in PERSONAL_VALUES if value in printed] == []


def test_imported_rows_link_to_live_screenings_and_count_once_for_the_source(
    client, auth, screen, run_import, tmp_path: Path, table_rows
) -> None:
    live = screen("moi-dahtjp")  # Sreymom Keovathana, ស្រីមុំ កែវវឌ្ឍនា, 2010-05-17
    path = tmp_path / "ngo.csv"
    path.write_text(
        "case_code,first_name,last_name,gender,date_of_birth,nationality,province,"
        "date_reported,type_of_case\n"
        "NGO-2025-1,Sreymom,Keovathana,Female,2010-05-17,Cambodian,Battambang,2025-12-01,"
        "Trafficking for sexual exploitation\n",
        encoding="utf-8",
    )
    status, out, _ = run_import(path, "ngo-joint")
    assert status == 0 and _figures(out)["auto-linked"] == "1"
    persons = {row["person_id"] for row in table_rows("person_record")}
    assert len(persons) == 1
    assert any(UUID(r["screening_id"]) == UUID(live["id"]) for r in table_rows("person_record"))
    body = client.get(
        "/statistics/victims",
        params={"group_by": "agency"},
        headers=auth("mosvy", "analyst"),
    ).json()
    assert (body["total"]["records"], body["total"]["persons"]) == (2, 1)
    cells = {cell["group"]["agency"]: cell["persons"] for cell in body["cells"]}
    assert cells == {"moi-dahtjp": 1, "ecpat-cambodia": 1}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "shown"), [(io.StringIO(), False), (_Terminal(), True)])
def test_the_progress_bar_shows_on_a_terminal_only(stream: io.StringIO, shown: bool) -> None:
    with Progress(3, stream) as progress:
        progress.advance(3)
    assert bool(stream.getvalue()) is shown


def test_incomplete_settings_import_nothing_and_say_which(
    run_import, police_export: Path, identification_db: Path, monkeypatch
) -> None:
    # Outside dev, the service's settings take nothing by default (here: the JWKS file).
    monkeypatch.setenv("IDENTIFICATION_ENVIRONMENT", "production")
    status, _, err = run_import(police_export, "police-case")
    assert status == 2
    assert "identification settings" in err
    assert _rows(identification_db, "SELECT * FROM legacy_record") == []


def test_an_imported_record_shows_the_reviewer_its_source_not_a_case(
    run_import, police_export: Path, identification_db: Path, client, auth
) -> None:
    status, _, _ = run_import(police_export, "police-case")
    assert status == 0
    [(person_id,)] = _rows(
        identification_db,
        "SELECT r.person_id FROM person_record r JOIN legacy_record l "
        "ON l.screening_id = r.screening_id WHERE l.source_record_id = 'PP-2021-3-V1'",
    )

    response = client.get(f"/persons/{person_id}", headers=auth("mosvy", "competent_authority"))

    assert response.status_code == 200, response.text
    [record] = response.json()["records"]
    assert record["case_id"] is None  # an imported record has no case here
    assert record["source"] == "police-case"
    assert record["source_record_id"] == "PP-2021-3-V1"
