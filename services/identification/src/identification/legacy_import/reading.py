"""Reading an agency's export: the file as a whole (UTF-8, the mapping's required
columns) and each row (its values possible). Nothing here touches the database, so that
an unusable file, or a rejected row under ``--all-or-nothing``, stops the import before
any personal data is opened.

Reasons name the row and the column, never the value: the summary is printed and may
be kept, the values are personal data.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from identification.domain import ages
from identification.domain.ages import BirthDatePrecision
from identification.legacy_import.mapping import NAME_TARGETS, SourceMapping, Target
from identification.legacy_import.provinces import province_code

MAX_AGE = 120
EARLIEST_BIRTH_YEAR = 1900
MAX_RECORD_ID = 100
MAX_NAME = 200
_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")


class UnreadableExport(Exception):
    """The file cannot be imported at all (nothing is): the message says why and where."""


@dataclass(frozen=True)
class Rejection:
    """A row left out: its number in the file (the header is row 1), the column, why."""

    row: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class LegacyRow:
    """A row that can be imported: a legacy record's fields, in the service's terms."""

    row: int
    source_record_id: str
    sex: str
    encounter_date: date
    encounter_type: str
    given_name: str | None = None
    family_name: str | None = None
    given_name_khmer: str | None = None
    family_name_khmer: str | None = None
    aliases: tuple[str, ...] = ()
    birth_date: date | None = None
    birth_date_precision: str | None = None
    estimated_age: int | None = None
    nationality: str | None = None
    province_code: str | None = None
    purposes: tuple[str, ...] = ()
    exploitation_country_code: str | None = None


@dataclass
class Export:
    """What the file holds: the rows to import, the rows rejected, and its digest."""

    digest: str
    rows_read: int = 0
    rows: list[LegacyRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def read_export(path: Path, mapping: SourceMapping, *, today: date | None = None) -> Export:
    """Every row of ``path`` read with ``mapping``: imported or rejected with reasons.

    Raises :class:`UnreadableExport` when the file is not UTF-8 or lacks a required
    column: then no row is imported.
    """
    today = today or ages.latest_possible_today()
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableExport(f"{path.name}: cannot be read ({error.strerror})") from error
    text = _decoded(data, path.name)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip() for cell in next(reader, [])]
    _check_header(header, mapping, path.name)
    export = Export(digest=hashlib.sha256(data).hexdigest())
    seen: dict[str, int] = {}
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line is no row
        export.rows_read += 1
        row = _RowReader(number, header, cells, mapping, today)
        legacy = row.read()
        if legacy is not None and legacy.source_record_id in seen:
            row.reject(
                mapping.fields[Target.SOURCE_RECORD_ID].column,
                f"the record id repeats row {seen[legacy.source_record_id]}",
            )
            legacy = None
        if legacy is None:
            export.rejections.extend(row.rejections)
            continue
        seen[legacy.source_record_id] = number
        export.rows.append(legacy)
    return export


def _decoded(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UnreadableExport(
            f"{name} is not UTF-8: line {line} holds a byte UTF-8 does not allow; "
            'export the file again as UTF-8 ("CSV UTF-8")'
        ) from error


def _check_header(header: list[str], mapping: SourceMapping, name: str) -> None:
    if not any(header):
        raise UnreadableExport(f"{name}: no header row (the file is empty)")
    repeated = sorted({column for column in header if header.count(column) > 1 and column})
    if repeated:
        raise UnreadableExport(
            f"{name}: column(s) named twice in the header: {', '.join(repeated)}"
        )
    missing = [column for column in mapping.required_columns if column not in header]
    if missing:
        raise UnreadableExport(
            f"{name}: missing required column(s) for {mapping.source.value}: "
            f"{', '.join(missing)} (see the mapping {mapping.source.value}.yaml)"
        )
    names = [mapping.fields[t].column for t in NAME_TARGETS if t in mapping.fields]
    if not any(column in header for column in names if column):
        raise UnreadableExport(
            f"{name}: no name column for {mapping.source.value}: one of "
            f"{', '.join(c for c in names if c)} is needed"
        )


class _RowReader:
    """One row's values, checked field by field; the reasons it is rejected, if any."""

    def __init__(
        self,
        number: int,
        header: list[str],
        cells: list[str],
        mapping: SourceMapping,
        today: date,
    ) -> None:
        self.number = number
        self.mapping = mapping
        self.today = today
        self.rejections: list[Rejection] = []
        if len(cells) != len(header):
            self.reject(None, f"has {len(cells)} cells where the header has {len(header)}")
        self.cells = dict(zip(header, cells, strict=False))

    def reject(self, column: str | None, reason: str) -> None:
        self.rejections.append(Rejection(self.number, column, reason))

    def column(self, target: Target) -> str | None:
        spec = self.mapping.fields.get(target)
        return spec.column if spec else None

    def raw(self, target: Target) -> str | None:
        spec = self.mapping.fields.get(target)
        if spec is None:
            return None
        if spec.fixed is not None:
            return spec.fixed
        value = self.cells.get(spec.column or "", "").strip()
        if not value:
            if spec.required:
                self.reject(spec.column, "is required")
            return spec.default
        return value

    def translated(self, target: Target) -> str | None:
        raw = self.raw(target)
        if raw is None:
            return None
        spec = self.mapping.fields[target]
        value = spec.translate(raw)
        if value is None:
            self.reject(spec.column, "unknown value (not in the mapping's values)")
        return value

    def date_of(self, target: Target) -> date | None:
        raw = self.raw(target)
        if raw is None:
            return None
        text = raw.translate(_KHMER_DIGITS)
        for pattern in self.mapping.date_formats:
            try:
                return datetime.strptime(text, pattern).date()
            except ValueError:
                continue
        formats = " or ".join(self.mapping.date_formats)
        self.reject(self.column(target), f"not a date (expected {formats})")
        return None

    def read(self) -> LegacyRow | None:
        record_id = self.raw(Target.SOURCE_RECORD_ID) or ""
        if len(record_id) > MAX_RECORD_ID:
            self.reject(self.column(Target.SOURCE_RECORD_ID), f"longer than {MAX_RECORD_ID}")
        names = {target: self.name(target) for target in NAME_TARGETS}
        if not any(names.values()):
            columns = [c for c in (self.column(t) for t in NAME_TARGETS) if c]
            self.reject("/".join(columns), "no name in Latin letters or Khmer script")
        aliases = tuple(a.strip() for a in (self.raw(Target.ALIASES) or "").split(";"))
        sex = self.translated(Target.SEX)
        encounter_date = self.date_of(Target.ENCOUNTER_DATE)
        if encounter_date is not None and encounter_date > self.today:
            self.reject(self.column(Target.ENCOUNTER_DATE), "in the future")
        birth_date, precision = self.birth(encounter_date)
        age = self.age()
        if (
            birth_date
            and age is not None
            and encounter_date
            and precision
            and ages.contradicts(
                birth_date=birth_date,
                precision=BirthDatePrecision(precision),
                estimate=age,
                on=encounter_date,
            )
        ):
            self.reject(self.column(Target.AGE), "contradicts the date of birth")
        nationality = self.translated(Target.NATIONALITY)
        province = self.province()
        purposes = self.purposes()
        exploitation_country = self.translated(Target.EXPLOITATION_COUNTRY)
        encounter_type = self.translated(Target.ENCOUNTER_TYPE)
        if self.rejections or sex is None or encounter_date is None or encounter_type is None:
            return None
        return LegacyRow(
            row=self.number,
            source_record_id=record_id,
            sex=sex,
            encounter_date=encounter_date,
            encounter_type=encounter_type,
            given_name=names[Target.GIVEN_NAME],
            family_name=names[Target.FAMILY_NAME],
            given_name_khmer=names[Target.GIVEN_NAME_KHMER],
            family_name_khmer=names[Target.FAMILY_NAME_KHMER],
            aliases=tuple(alias for alias in aliases if alias),
            birth_date=birth_date,
            birth_date_precision=precision,
            estimated_age=age,
            nationality=nationality,
            province_code=province,
            purposes=purposes,
            exploitation_country_code=exploitation_country,
        )

    def name(self, target: Target) -> str | None:
        value = self.raw(target)
        if value is not None and len(value) > MAX_NAME:
            self.reject(self.column(target), f"longer than {MAX_NAME} characters")
        return value

    def birth(self, encounter_date: date | None) -> tuple[date | None, str | None]:
        column = self.column(Target.BIRTH_DATE)
        raw = self.raw(Target.BIRTH_DATE)
        year_text = (raw or "").translate(_KHMER_DIGITS)
        if raw is not None and len(year_text) == 4 and year_text.isdigit():
            born, precision = date(int(year_text), 1, 1), BirthDatePrecision.YEAR
        elif raw is not None:
            found = self.date_of(Target.BIRTH_DATE)
            if found is None:
                return None, None
            born, precision = found, BirthDatePrecision.DAY
        else:
            year = (self.raw(Target.BIRTH_YEAR) or "").translate(_KHMER_DIGITS)
            if not year:
                return None, None
            column = self.column(Target.BIRTH_YEAR)
            if not (len(year) == 4 and year.isdigit()):
                self.reject(column, "not a year (four digits)")
                return None, None
            born, precision = date(int(year), 1, 1), BirthDatePrecision.YEAR
        if born.year < EARLIEST_BIRTH_YEAR:
            self.reject(column, f"before {EARLIEST_BIRTH_YEAR}")
        elif born > self.today:
            self.reject(column, "in the future")
        elif encounter_date is not None and born > encounter_date:
            self.reject(column, "after the encounter date")
        return born, str(precision)

    def age(self) -> int | None:
        raw = self.raw(Target.AGE)
        if raw is None:
            return None
        text = raw.translate(_KHMER_DIGITS)
        if not text.isdigit():
            self.reject(self.column(Target.AGE), "not an age (whole years)")
            return None
        if int(text) > MAX_AGE:
            self.reject(self.column(Target.AGE), f"impossible: more than {MAX_AGE} years")
            return None
        return int(text)

    def province(self) -> str | None:
        raw = self.raw(Target.PROVINCE)
        if raw is None:
            return None
        code = province_code(raw.translate(_KHMER_DIGITS))
        if code is None:
            self.reject(self.column(Target.PROVINCE), "unknown province")
        return code

    def purposes(self) -> tuple[str, ...]:
        raw = self.raw(Target.EXPLOITATION_TYPE)
        if raw is None:
            return ()
        spec = self.mapping.fields[Target.EXPLOITATION_TYPE]
        found = []
        for part in (p for p in raw.split(";") if p.strip()):
            value = spec.translate(part)
            if value is None:
                self.reject(spec.column, "unknown value (not in the mapping's values)")
                return ()
            found.append(value)
        return tuple(dict.fromkeys(found))
