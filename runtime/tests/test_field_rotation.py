"""Key rotation: every sealed value is resealed with the newest key, and all still read back."""

from __future__ import annotations

import textwrap
from importlib.metadata import EntryPoint

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from nrm_runtime import registration
from nrm_runtime.cli import main as nrm
from nrm_runtime.field_crypto import FieldCryptoError, KeyRing, add_key, create_key_file, key_id_of
from nrm_runtime.field_rotation import SealedColumns, rotate_sealed_values
from nrm_runtime.registration import ENTRY_POINT_GROUP

people_metadata = MetaData()
person_table = Table(
    "person",
    people_metadata,
    Column("person_id", String(36), primary_key=True),
    Column("given_name", String(500), nullable=False),
    Column("family_name", String(500), nullable=True),
)
PEOPLE = SealedColumns(person_table, "person_id", ("given_name", "family_name"))
COUNT = 45  # more than two batches of 20


def name_of(index: int) -> tuple[str, str | None]:
    return f"Canary{index:03d} Given", (f"Canary{index:03d} Family" if index % 3 else None)


@pytest.fixture
async def engine(database_url):
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(people_metadata.create_all)
    yield engine
    await engine.dispose()


async def seal_people(engine, ring: KeyRing) -> None:
    rows = []
    for index in range(COUNT):
        given, family = name_of(index)
        person_id = f"p{index:04d}"
        place = {"table": "person", "record_id": person_id}
        rows.append(
            {
                "person_id": person_id,
                "given_name": ring.seal(given, **place, field="given_name"),
                "family_name": ring.seal(family, **place, field="family_name") if family else None,
            }
        )
    async with engine.begin() as connection:
        await connection.execute(insert(person_table), rows)


async def stored(engine) -> list[tuple[str, str, str | None]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(select(person_table))]


async def test_rotation_reseals_every_value_and_every_record_reads_back(engine, tmp_path) -> None:
    keys = create_key_file(tmp_path / "field-keys.json")
    old_kid = KeyRing.load(keys).current_kid
    await seal_people(engine, KeyRing.load(keys))
    new_kid = add_key(keys)
    ring = KeyRing.load(keys)

    report = await rotate_sealed_values(engine, ring, [PEOPLE], batch_size=20)

    rows = await stored(engine)
    sealed = [value for row in rows for value in row[1:] if value is not None]
    assert {key_id_of(value) for value in sealed} == {new_kid}
    assert not any(f".{old_kid}." in value for value in sealed)
    assert report.resealed == {"person": len(sealed)}
    for person_id, given, family in rows:
        index = int(person_id[1:])
        place = {"table": "person", "record_id": person_id}
        assert ring.open(given, **place, field="given_name") == name_of(index)[0]
        if family is not None:
            assert ring.open(family, **place, field="family_name") == name_of(index)[1]


async def test_a_second_rotation_finds_nothing_to_do(engine, tmp_path) -> None:
    keys = create_key_file(tmp_path / "field-keys.json")
    await seal_people(engine, KeyRing.load(keys))
    add_key(keys)
    ring = KeyRing.load(keys)
    await rotate_sealed_values(engine, ring, [PEOPLE])
    before = await stored(engine)

    again = await rotate_sealed_values(engine, ring, [PEOPLE])

    assert again.resealed == {"person": 0}
    assert await stored(engine) == before


async def test_a_value_that_does_not_open_stops_the_rotation_and_is_left_as_it_was(
    engine, tmp_path
) -> None:
    keys = create_key_file(tmp_path / "field-keys.json")
    ring = KeyRing.load(keys)
    moved = ring.seal("Canary Moved", table="person", record_id="elsewhere", field="given_name")
    async with engine.begin() as connection:
        await connection.execute(
            insert(person_table).values(person_id="p0001", given_name=moved, family_name=None)
        )
    add_key(keys)

    with pytest.raises(FieldCryptoError):
        await rotate_sealed_values(engine, KeyRing.load(keys), [PEOPLE])

    assert await stored(engine) == [("p0001", moved, None)]


async def test_nrm_keys_rotate_data_reseals_a_services_declared_fields(
    engine, database_url, tmp_path, monkeypatch, capsys
) -> None:
    package = tmp_path / "pkg" / "casework"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "store.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path
            from sqlalchemy import Column, MetaData, String, Table
            from nrm_runtime.field_rotation import SealedColumns
            from nrm_runtime.registration import ServiceStorage
            person = Table("person", MetaData(), Column("person_id", String(36), primary_key=True),
                           Column("given_name", String(500)), Column("family_name", String(500)))
            SEALED_FIELDS = [SealedColumns(person, "person_id", ("given_name", "family_name"))]
            STORAGE = ServiceStorage("casework", person.metadata, Path("migrations"), SEALED_FIELDS)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    # The service registers its storage as an installed package would (entry point).
    registered = EntryPoint("casework", "casework.store:STORAGE", ENTRY_POINT_GROUP)
    monkeypatch.setattr(registration, "entry_points", lambda group: [registered])
    keys = tmp_path / "field-keys.json"
    nrm(["--keys-dir", str(tmp_path / "tokens"), "keys", "init", "--field-keys-file", str(keys)])
    await seal_people(engine, KeyRing.load(keys))
    nrm(["keys", "rotate-field-key", "--field-keys-file", str(keys)])

    code = await __import__("asyncio").to_thread(
        nrm,
        ["keys", "rotate-data", "--service", "casework", "--database-url", database_url,
         "--field-keys-file", str(keys)],
    )  # fmt: skip

    assert code == 0
    assert "person:" in capsys.readouterr().out
    current = KeyRing.load(keys).current_kid
    rows = await stored(engine)
    assert {key_id_of(v) for row in rows for v in row[1:] if v is not None} == {current}


def test_nrm_keys_rotate_data_needs_the_service_and_its_database(tmp_path, capsys) -> None:
    code = nrm(["keys", "rotate-data", "--field-keys-file", str(tmp_path / "k.json")])

    assert code == 2
    assert "--service and --database-url are required" in capsys.readouterr().err
