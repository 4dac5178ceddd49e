"""Re-encrypting every sealed value of a service's tables with the newest field key.

A service declares where its sealed values are (``SealedColumns``); after ``nrm keys
rotate-field-key`` adds a key, ``rotate_sealed_values`` (or ``nrm keys rotate-data``)
reseals each value still under an older key, in batches, one transaction per batch, so a
long rotation neither holds one huge transaction nor stops the service. Once no value
names an old kid, that key can be retired from the ring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from nrm_runtime.field_crypto import KeyRing, key_id_of

DEFAULT_BATCH_SIZE = 200


@dataclass(frozen=True)
class SealedColumns:
    """Where sealed values live: ``table``'s ``columns``, each sealed for the place
    (``place_table`` or the table's name, the record's ``id_column`` value, the column name).
    """

    table: Table
    id_column: str
    columns: tuple[str, ...]
    place_table: str | None = None

    @property
    def place(self) -> str:
        return self.place_table or self.table.name


@dataclass
class RotationReport:
    """What a rotation did: values resealed and values already current, per table."""

    resealed: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)


async def rotate_sealed_values(
    engine: AsyncEngine,
    key_ring: KeyRing,
    locations: Sequence[SealedColumns],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RotationReport:
    """Reseal, with the ring's current key, every value of ``locations`` sealed under an
    older one. A value that does not open stops the rotation (``FieldCryptoError``): it
    must be looked at, not silently skipped."""
    report = RotationReport()
    for location in locations:
        resealed, current = await _rotate_table(engine, key_ring, location, batch_size)
        report.resealed[location.table.name] = resealed
        report.current[location.table.name] = current
    return report


async def _rotate_table(
    engine: AsyncEngine, key_ring: KeyRing, location: SealedColumns, batch_size: int
) -> tuple[int, int]:
    table = location.table
    id_column: Column[object] = table.c[location.id_column]
    resealed = current = 0
    after: object | None = None
    while True:
        query = select(id_column, *(table.c[name] for name in location.columns))
        if after is not None:
            query = query.where(id_column > after)
        query = query.order_by(id_column).limit(batch_size)
        async with engine.begin() as connection:
            rows = (await connection.execute(query)).all()
            for row in rows:
                record_id = row[0]
                for name, value in zip(location.columns, row[1:], strict=True):
                    if value is None:
                        continue
                    if key_id_of(value) == key_ring.current_kid:
                        current += 1
                        continue
                    fresh = key_ring.reseal(
                        value, table=location.place, record_id=str(record_id), field=name
                    )
                    # Only if unchanged since read: a concurrent write by the service
                    # (sealed with the current key already) is never overwritten.
                    await connection.execute(
                        update(table)
                        .where(id_column == record_id, table.c[name] == value)
                        .values({name: fresh})
                    )
                    resealed += 1
        if len(rows) < batch_size:
            return resealed, current
        after = rows[-1][0]
