"""Generated records (synthetic, no real person) as a source's export or as live
screenings: for the tests and the benchmarks."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from uuid import uuid4

from identification.legacy_import.mapping import SourceMapping, Target
from identification.person_index.domain.index import features_of
from identification.person_index.domain.matching import PersonFeatures
from identification.person_index.synthetic import SyntheticRecord
from identification.store import Screening
from identification.store.sealing import PersonNames, seal_person
from nrm_runtime.field_crypto import KeyRing


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


def sample_names(record: SyntheticRecord) -> PersonNames:
    """The record's person fields that are sealed at rest."""
    return PersonNames(
        given_name=record.given_name or None,
        family_name=record.family_name or None,
        given_name_khmer=record.given_name_khmer or None,
        family_name_khmer=record.family_name_khmer or None,
        aliases=[],
        birth_date=date.fromisoformat(record.birth_date) if record.birth_date else None,
    )


def sample_screening(
    record: SyntheticRecord, keys: KeyRing, *, recorded_at: datetime, recorded_by: str
) -> Screening:
    """The record as a live screening's row (names sealed), not yet in the index."""
    screening = Screening(
        case_id=uuid4(),
        reporting_organisation=record.organisation,
        recorded_by=recorded_by,
        sex=record.sex,
        birth_date_precision=record.birth_date_precision or None,
        estimated_age=int(record.estimated_age) if record.estimated_age else None,
        nationality=record.nationality or None,
        encounter_type=record.encounter_type,
        encounter_date=date.fromisoformat(record.encounter_date),
        province_code=record.province_code or None,
        purposes=[record.exploitation_type] if record.exploitation_type else [],
        exploitation_country_code=record.exploitation_country_code or None,
        recorded_at=recorded_at,
    )
    seal_person(keys, screening, sample_names(record))
    return screening


def sample_features(record: SyntheticRecord) -> PersonFeatures:
    """The matcher's view of the record, as the import and a live screening build it."""
    names = sample_names(record)
    return features_of(
        given_name=names.given_name,
        family_name=names.family_name,
        given_name_khmer=names.given_name_khmer,
        family_name_khmer=names.family_name_khmer,
        sex=record.sex,
        birth_date=names.birth_date,
        birth_date_precision=record.birth_date_precision or None,
        estimated_age=int(record.estimated_age) if record.estimated_age else None,
        encounter_date=date.fromisoformat(record.encounter_date),
        nationality=record.nationality or None,
        province_code=record.province_code or None,
        purposes=[record.exploitation_type] if record.exploitation_type else [],
        exploitation_country_code=record.exploitation_country_code or None,
        reporting_organisation=record.organisation,
    )
