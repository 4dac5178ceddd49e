"""Reading an agency's export: each source's mapping, and bad input (wrong columns, bad
encoding, impossible values) found before anything is written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from identification.legacy_import.mapping import (
    MAPPINGS_DIR,
    MappingError,
    Source,
    Target,
    load_mapping,
    mapping_file,
)
from identification.legacy_import.provinces import province_code
from identification.legacy_import.reading import UnreadableExport, read_export

TODAY = date(2026, 3, 2)
POLICE_HEADER = (
    "victim_ref,victim_surname,victim_name,victim_surname_kh,victim_name_kh,victim_alias,"
    "sex,date_of_birth,age_at_rescue,nationality,province_of_operation,operation_date,"
    "exploitation,suspect_name,charges"
)
GOOD_POLICE_ROW = (
    "PP-2019-1-V1,Chan,Sokha,ចាន់,សុខា,,F,17/05/2001,,Cambodian,Battambang,02/03/2019,"
    "prostitution,X,Art. 8"
)


def _export(tmp_path: Path, text: str | bytes, name: str = "export.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("source", list(Source))
def test_each_source_has_a_mapping_file_that_loads_and_documents_every_column(source) -> None:
    mapping = load_mapping(source)
    assert mapping_file(source).exists()
    assert mapping.organisation and mapping.title
    assert all(spec.description for spec in mapping.fields.values())
    readme = (MAPPINGS_DIR / "README.md").read_text(encoding="utf-8")
    for column in mapping.columns:
        assert f"`{column}`" in readme, f"{column} of {source} is not in the README"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("sex:\n    column: sex\n    required: true", "sex:\n    column: sex"), "sex must be"),
        (("F: female,", "F: woman,"), "'woman' is not one of"),
        (("Cambodian: KHM,", "Cambodian: Cambodia,"), "not ISO alpha-3"),
        (("  aliases:", "  nickname:"), "'nickname' is not a valid Target"),
        (("fixed: police_operation", "fixed: raid"), "fixed: 'raid'"),
        (("victim_alias", "sex"), "a column is mapped twice"),
    ],
)
def test_a_broken_mapping_file_is_refused_naming_the_entry(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = mapping_file(Source.POLICE_CASE).read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / "police-case.yaml"
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(MappingError, match=r"police-case\.yaml") as refused:
        load_mapping(Source.POLICE_CASE, path)
    assert message in str(refused.value)


def test_police_columns_are_read_and_other_columns_ignored(tmp_path: Path) -> None:
    path = _export(tmp_path, f"{POLICE_HEADER}\n{GOOD_POLICE_ROW}\n")
    export = read_export(path, load_mapping(Source.POLICE_CASE), today=TODAY)
    assert export.rejections == []
    [row] = export.rows
    assert (row.source_record_id, row.family_name, row.given_name) == (
        "PP-2019-1-V1",
        "Chan",
        "Sokha",
    )
    assert (row.family_name_khmer, row.given_name_khmer) == ("ចាន់", "សុខា")
    assert (row.sex, row.nationality, row.province_code) == ("female", "KHM", "02")
    assert (row.birth_date, row.birth_date_precision) == (date(2001, 5, 17), "day")
    assert row.encounter_date == date(2019, 3, 2)
    assert row.purposes == ("sexual_exploitation",)
    assert row.encounter_type == "police_operation"


def test_mosvy_rows_in_khmer_with_khmer_numerals_are_read(tmp_path: Path) -> None:
    header = (
        "registration_no,family_name_kh,given_name_kh,family_name_latin,given_name_latin,sex,"
        "date_of_birth,age,nationality,province,registration_date,type_of_exploitation,referred_by"
    )
    rows = [
        "M-1,សុខ,ដារា,,,ស្រី,១៧/០៥/២០០១,,ខ្មែរ,បាត់ដំបង,០២/០៣/២០១៥,ការកេងប្រវ័ញ្ចផ្លូវភេទ,police",
        "M-2,,,Nguyen,Thi Lan,F,1999,,Vietnamese,18,2016-06-05,begging,",
    ]
    path = _export(tmp_path, "\n".join([header, *rows]) + "\n")
    export = read_export(path, load_mapping(Source.MOSVY_REGISTRATION), today=TODAY)
    assert export.rejections == []
    first, second = export.rows
    assert (first.birth_date, first.encounter_date) == (date(2001, 5, 17), date(2015, 3, 2))
    assert (first.province_code, first.encounter_type) == ("02", "police_operation")
    assert (second.birth_date, second.birth_date_precision) == (date(1999, 1, 1), "year")
    assert (second.nationality, second.purposes) == ("VNM", ("forced_begging",))
    assert second.encounter_type == "ngo_outreach"  # the default of an empty "referred_by"


def test_ngo_joint_rows_are_read(tmp_path: Path) -> None:
    header = (
        "case_code,reporting_ngo,first_name,last_name,gender,date_of_birth,age,nationality,"
        "province,date_reported,type_of_case"
    )
    row = (
        "NGO-2010-39,ngo-x,Sreymom,Keo,Female,,15,Cambodian,Siem Reap,2010-11-03,"
        "Trafficking for sexual exploitation"
    )
    export = read_export(
        _export(tmp_path, f"{header}\n{row}\n"), load_mapping(Source.NGO_JOINT), today=TODAY
    )
    [read] = export.rows
    assert (read.estimated_age, read.birth_date, read.province_code) == (15, None, "17")
    assert (read.sex, read.purposes, read.encounter_type) == (
        "female",
        ("sexual_exploitation",),
        "ngo_outreach",
    )


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Phnom Penh", "12"),
        ("ភ្នំពេញ", "12"),
        ("siemreap", "17"),
        ("Mondulkiri", "11"),
        ("Kratié", "10"),
        ("8", "08"),
        ("25", "25"),
        ("26", None),
        ("Atlantis", None),
    ],
)
def test_provinces_are_known_by_code_or_name_in_either_script(text: str, names: str | None) -> None:
    assert province_code(text) == names


def test_a_missing_required_column_stops_the_import_naming_the_column(tmp_path: Path) -> None:
    header = POLICE_HEADER.replace("operation_date,", "")
    row = GOOD_POLICE_ROW.replace("02/03/2019,", "")
    path = _export(tmp_path, f"{header}\n{row}\n")
    with pytest.raises(UnreadableExport, match=r"missing required column.*operation_date"):
        read_export(path, load_mapping(Source.POLICE_CASE), today=TODAY)


def test_an_export_without_any_name_column_is_refused(tmp_path: Path) -> None:
    path = _export(tmp_path, "victim_ref,sex,operation_date\nA,F,02/03/2019\n")
    with pytest.raises(UnreadableExport, match="no name column"):
        read_export(path, load_mapping(Source.POLICE_CASE), today=TODAY)


def test_a_file_not_in_utf8_is_refused_naming_the_line(tmp_path: Path) -> None:
    text = f"{POLICE_HEADER}\n{GOOD_POLICE_ROW}\n" + GOOD_POLICE_ROW.replace("PP-2019-1", "PP-2")
    latin1 = text.replace("Sokha", "Sokhä").encode("utf-8")
    # Line 3 written by a Windows export in cp1252: "ä" as one byte.
    lines = latin1.split(b"\n")
    lines[2] = lines[2].replace("ä".encode(), "ä".encode("cp1252"))
    lines[2] = lines[2].replace("ចាន់".encode(), b"Chan").replace("សុខា".encode(), b"Sokha")
    path = _export(tmp_path, b"\n".join(lines))
    with pytest.raises(UnreadableExport, match="not UTF-8: line 3"):
        read_export(path, load_mapping(Source.POLICE_CASE), today=TODAY)


def test_a_utf8_byte_order_mark_is_no_problem(tmp_path: Path) -> None:
    path = _export(tmp_path, f"{POLICE_HEADER}\n{GOOD_POLICE_ROW}\n".encode("utf-8-sig"))
    assert len(read_export(path, load_mapping(Source.POLICE_CASE), today=TODAY).rows) == 1


BAD_VALUES = [
    # (column, bad value written into the good row, reason)
    ("date_of_birth", "17/05/2030", "in the future"),
    ("date_of_birth", "17/05/2020", "after the encounter date"),
    ("date_of_birth", "1850", "before 1900"),
    ("date_of_birth", "31/02/2001", "not a date"),
    ("age_at_rescue", "140", "impossible: more than 120 years"),
    ("age_at_rescue", "about ten", "not an age"),
    ("province_of_operation", "Atlantis", "unknown province"),
    ("operation_date", "02/03/2027", "in the future"),
    ("operation_date", "", "is required"),
    ("sex", "X", "unknown value"),
    ("nationality", "Martian", "unknown value"),
    ("exploitation", "rape", "unknown value"),
    ("victim_ref", "", "is required"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_VALUES)
def test_an_impossible_value_rejects_its_row_naming_row_column_and_reason(
    tmp_path: Path, column: str, value: str, reason: str
) -> None:
    columns = POLICE_HEADER.split(",")
    bad = GOOD_POLICE_ROW.split(",")
    bad[columns.index(column)] = value
    if column == "age_at_rescue":
        bad[columns.index("date_of_birth")] = ""
    second = GOOD_POLICE_ROW.replace("PP-2019-1-V1", "PP-2019-2-V1")
    path = _export(tmp_path, "\n".join([POLICE_HEADER, ",".join(bad), second]) + "\n")
    export = read_export(path, load_mapping(Source.POLICE_CASE), today=TODAY)
    assert [row.source_record_id for row in export.rows] == ["PP-2019-2-V1"]
    [rejection] = export.rejections
    assert (rejection.row, rejection.column) == (2, column)
    assert reason in rejection.reason
    assert value == "" or value not in str(rejection)


def test_a_row_without_any_name_is_rejected(tmp_path: Path) -> None:
    row = "PP-9,,,,,,F,17/05/2001,,Cambodian,Battambang,02/03/2019,prostitution,,"
    export = read_export(
        _export(tmp_path, f"{POLICE_HEADER}\n{row}\n"),
        load_mapping(Source.POLICE_CASE),
        today=TODAY,
    )
    [rejection] = export.rejections
    assert rejection.reason == "no name in Latin letters or Khmer script"


def test_a_record_id_repeated_in_the_file_rejects_the_later_row(tmp_path: Path) -> None:
    path = _export(tmp_path, f"{POLICE_HEADER}\n{GOOD_POLICE_ROW}\n{GOOD_POLICE_ROW}\n")
    export = read_export(path, load_mapping(Source.POLICE_CASE), today=TODAY)
    assert len(export.rows) == 1
    [rejection] = export.rejections
    assert (rejection.row, rejection.column, rejection.reason) == (
        3,
        "victim_ref",
        "the record id repeats row 2",
    )


def test_a_row_with_too_few_cells_is_rejected_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = _export(tmp_path, f"{POLICE_HEADER}\n\nPP-1,Chan\n{GOOD_POLICE_ROW}\n")
    export = read_export(path, load_mapping(Source.POLICE_CASE), today=TODAY)
    assert export.rows_read == 2
    assert any("cells where the header has" in r.reason and r.row == 3 for r in export.rejections)


def test_an_estimated_age_contradicting_the_birth_date_is_rejected(tmp_path: Path) -> None:
    columns = POLICE_HEADER.split(",")
    row = GOOD_POLICE_ROW.split(",")
    row[columns.index("age_at_rescue")] = "40"
    path = _export(tmp_path, f"{POLICE_HEADER}\n{','.join(row)}\n")
    [rejection] = read_export(path, load_mapping(Source.POLICE_CASE), today=TODAY).rejections
    assert (rejection.column, rejection.reason) == (
        "age_at_rescue",
        "contradicts the date of birth",
    )


def test_export_rows_written_from_canonical_values_read_back_the_same(tmp_path: Path) -> None:
    mapping = load_mapping(Source.NGO_JOINT)
    values = {
        Target.SOURCE_RECORD_ID: "N-1",
        Target.GIVEN_NAME: "Lan",
        Target.FAMILY_NAME: "Nguyen",
        Target.SEX: "female",
        Target.BIRTH_DATE: "2001-05-17",
        Target.NATIONALITY: "VNM",
        Target.PROVINCE: "12",
        Target.ENCOUNTER_DATE: "2019-03-02",
        Target.EXPLOITATION_TYPE: "forced_labour",
    }
    row = mapping.export_row(values)
    assert row["gender"] == "Female" and row["nationality"] == "Vietnamese"
    header = ",".join(mapping.columns)
    line = ",".join(row[column] for column in mapping.columns)
    [read] = read_export(_export(tmp_path, f"{header}\n{line}\n"), mapping, today=TODAY).rows
    assert (read.family_name, read.nationality, read.purposes) == (
        "Nguyen",
        "VNM",
        ("forced_labour",),
    )
