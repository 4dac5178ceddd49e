"""Generated exports in a source's own format (synthetic records, no real person): for
the tests and the legacy import benchmark."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from identification.legacy_import.mapping import SourceMapping, Target
from identification.synthetic import SyntheticRecord


def write_export(records: Sequence[SyntheticRecord], mapping: SourceMapping, path: Path) -> Path:
    """The records as ``mapping``'s source would export them (its columns, its codes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=mapping.columns)
        writer.writeheader()
        for record in records:
            year_only = record.birth_date_precision == "year"
            values = {
                Target.SOURCE_RECORD_ID: record.source_record_id,
                Target.GIVEN_NAME: record.given_name,
                Target.FAMILY_NAME: record.family_name,
                Target.GIVEN_NAME_KHMER: record.given_name_khmer,
                Target.FAMILY_NAME_KHMER: record.family_name_khmer,
                Target.SEX: record.sex,
                Target.BIRTH_DATE: record.birth_date[:4] if year_only else record.birth_date,
                Target.AGE: record.estimated_age,
                Target.NATIONALITY: record.nationality,
                Target.PROVINCE: record.province_code,
                Target.ENCOUNTER_DATE: record.encounter_date,
                Target.EXPLOITATION_TYPE: record.exploitation_type,
                Target.EXPLOITATION_COUNTRY: record.exploitation_country_code,
            }
            writer.writerow(mapping.export_row(values))
    return path
