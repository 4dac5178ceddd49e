"""Each source's column mapping: which column of the agency's export holds which field
of a legacy record, and how its values are written. One YAML file per source in
``mappings/`` (documented in ``mappings/README.md``), checked when loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from identification.domain.indicators import Purpose
from nrm_contracts.events.identification import EncounterType, Sex
from nrm_runtime.auth import OrganisationType

MAPPINGS_DIR = Path(__file__).parent / "mappings"


class Source(StrEnum):
    """The agencies' databases an export can come from (the source report's Figure 4)."""

    MOSVY_REGISTRATION = "mosvy-registration"
    POLICE_CASE = "police-case"
    NGO_JOINT = "ngo-joint"


class Target(StrEnum):
    """The fields of a legacy record a column can fill."""

    SOURCE_RECORD_ID = "source_record_id"
    GIVEN_NAME = "given_name"
    FAMILY_NAME = "family_name"
    GIVEN_NAME_KHMER = "given_name_khmer"
    FAMILY_NAME_KHMER = "family_name_khmer"
    ALIASES = "aliases"
    SEX = "sex"
    BIRTH_DATE = "birth_date"
    BIRTH_YEAR = "birth_year"
    AGE = "age"
    NATIONALITY = "nationality"
    PROVINCE = "province"
    ENCOUNTER_DATE = "encounter_date"
    EXPLOITATION_TYPE = "exploitation_type"
    EXPLOITATION_COUNTRY = "exploitation_country"
    ENCOUNTER_TYPE = "encounter_type"


# Fields holding a country: ISO 3166-1 alpha-3 codes, or words a values table translates.
COUNTRY_TARGETS = (Target.NATIONALITY, Target.EXPLOITATION_COUNTRY)
NAME_TARGETS = (
    Target.GIVEN_NAME,
    Target.FAMILY_NAME,
    Target.GIVEN_NAME_KHMER,
    Target.FAMILY_NAME_KHMER,
)
# Without these a row is no record: whose it is, who the person is, when they were met.
ALWAYS_REQUIRED = (Target.SOURCE_RECORD_ID, Target.SEX, Target.ENCOUNTER_DATE)
# The canonical values a ``values:`` table may translate to, per field.
_CANONICAL: dict[Target, frozenset[str]] = {
    Target.SEX: frozenset(Sex),
    Target.EXPLOITATION_TYPE: frozenset(Purpose),
    Target.ENCOUNTER_TYPE: frozenset(EncounterType),
}


class MappingError(ValueError):
    """A mapping file that cannot be used (names the file and the entry)."""


def fold(value: str) -> str:
    """A cell value as looked up in a ``values:`` table: trimmed, case-folded."""
    return " ".join(value.split()).casefold()


@dataclass(frozen=True)
class FieldSpec:
    """Where one field comes from: a column (its values translated by ``values``; an
    empty cell is ``default``), or a ``fixed`` value for every row of this source."""

    target: Target
    column: str | None = None
    required: bool = False
    fixed: str | None = None
    default: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    _folded: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_folded", {fold(k): v for k, v in self.values.items()})

    def translate(self, raw: str) -> str | None:
        """The canonical value of a cell (None: not in the table nor canonical)."""
        if self.target in COUNTRY_TARGETS and _is_alpha3(raw.strip()):
            return raw.strip()
        if not self.values:
            return None if self.target in COUNTRY_TARGETS else raw
        found = self._folded.get(fold(raw))
        if found is not None:
            return found
        allowed = _CANONICAL.get(self.target)
        if allowed is not None and raw.strip() in allowed:
            return raw.strip()
        return None


@dataclass(frozen=True)
class SourceMapping:
    """A source's export format: its columns, date formats and the agency it is."""

    source: Source
    organisation: str
    organisation_type: OrganisationType
    title: str
    date_formats: tuple[str, ...]
    fields: Mapping[Target, FieldSpec]

    @property
    def columns(self) -> list[str]:
        """The columns this mapping reads, in the mapping's order."""
        return [spec.column for spec in self.fields.values() if spec.column is not None]

    @property
    def required_columns(self) -> list[str]:
        return [s.column for s in self.fields.values() if s.column is not None and s.required]

    def export_row(self, values: Mapping[Target, str]) -> dict[str, str]:
        """The row this source's export would hold for these canonical values (dates as
        ISO strings, a year alone as four digits): for test files and the benchmark."""
        row: dict[str, str] = {}
        for target, spec in self.fields.items():
            if spec.column is None:
                continue
            value = values.get(target, "")
            if value and target in (Target.BIRTH_DATE, Target.ENCOUNTER_DATE) and len(value) > 4:
                value = date.fromisoformat(value).strftime(self.date_formats[0])
            elif value and spec.values:
                value = next((k for k, v in spec.values.items() if v == value), value)
            row[spec.column] = value
        return row


def _is_alpha3(value: str) -> bool:
    return len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()


def mapping_file(source: Source) -> Path:
    return MAPPINGS_DIR / f"{source.value}.yaml"


def load_mapping(source: Source, path: Path | None = None) -> SourceMapping:
    """The mapping of ``source`` (its shipped file unless ``path`` is given), checked."""
    path = path or mapping_file(source)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise MappingError(f"{path.name}: {error}") from error
    if not isinstance(document, dict):
        raise MappingError(f"{path.name}: not a mapping document")
    try:
        return _mapping(source, document)
    except (KeyError, TypeError, ValueError) as error:
        raise MappingError(f"{path.name}: {error}") from error


def _mapping(source: Source, document: dict[str, Any]) -> SourceMapping:
    if document["source"] != source.value:
        raise ValueError(f"source is {document['source']!r}, expected {source.value!r}")
    specs: dict[Target, FieldSpec] = {}
    for name, entry in document["fields"].items():
        target = Target(name)
        values = {str(k): str(v) for k, v in (entry.get("values") or {}).items()}
        allowed = _CANONICAL.get(target)
        for canonical in values.values():
            if allowed is not None and canonical not in allowed:
                raise ValueError(f"fields.{name}.values: {canonical!r} is not one of {allowed}")
            if target in COUNTRY_TARGETS and not _is_alpha3(canonical):
                raise ValueError(f"fields.{name}.values: {canonical!r} is not ISO alpha-3")
        fixed = entry.get("fixed")
        if fixed is not None and allowed is not None and fixed not in allowed:
            raise ValueError(f"fields.{name}.fixed: {fixed!r} is not one of {sorted(allowed)}")
        default = entry.get("default")
        if default is not None and allowed is not None and default not in allowed:
            raise ValueError(f"fields.{name}.default: {default!r} is not one of {sorted(allowed)}")
        if (entry.get("column") is None) == (fixed is None):
            raise ValueError(f"fields.{name}: give a column or a fixed value")
        specs[target] = FieldSpec(
            target=target,
            column=entry.get("column"),
            required=bool(entry.get("required", False)),
            fixed=fixed,
            default=default,
            values=values,
            description=str(entry.get("description", "")).strip(),
        )
    for target in ALWAYS_REQUIRED:
        if target not in specs or not (specs[target].required or specs[target].fixed):
            raise ValueError(f"fields.{target.value} must be mapped and required")
    if not any(target in specs for target in NAME_TARGETS):
        raise ValueError("map at least one name column")
    columns = [spec.column for spec in specs.values() if spec.column is not None]
    if len(set(columns)) != len(columns):
        raise ValueError("a column is mapped twice")
    return SourceMapping(
        source=source,
        organisation=str(document["organisation"]),
        organisation_type=OrganisationType(document["organisation_type"]),
        title=str(document["title"]),
        date_formats=tuple(document["date_formats"]),
        fields=specs,
    )
