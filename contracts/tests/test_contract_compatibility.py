"""Which changes to a published event type break its readers, and the real contracts' state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from uuid import UUID

import pytest
from pydantic import BaseModel, Field

from nrm_contracts.compatibility import (
    BreakingChange,
    breaking_changes,
    compatibility_problems,
    load_published,
    publish_new_types,
    unpublished_types,
)
from nrm_contracts.schemas import data_schemas

PUBLISHED_DIR = Path(__file__).resolve().parents[1] / "published"
TYPE = "kh.nrm.test.thing.happened.v1"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class Place(BaseModel):
    province_code: str = Field(pattern=r"^[0-9]{2}$")
    village: str | None = None


class Published(BaseModel):
    """The version as published."""

    case_id: UUID
    sex: Sex
    organisation: str = Field(max_length=64)
    children: int
    note: str | None = None
    place: Place
    happened_at: datetime


# Each variant below is Published with one change. Classes are redefined rather than
# edited so that pydantic derives every schema the way it derives a real event's.


class FieldRemoved(BaseModel):
    case_id: UUID
    sex: Sex
    organisation: str = Field(max_length=64)
    note: str | None = None
    place: Place
    happened_at: datetime


class FieldRetyped(BaseModel):
    case_id: UUID
    sex: Sex
    organisation: str = Field(max_length=64)
    children: str
    note: str | None = None
    place: Place
    happened_at: datetime


class FormatChanged(BaseModel):
    case_id: str
    sex: Sex
    organisation: str = Field(max_length=64)
    children: int
    note: str | None = None
    place: Place
    happened_at: datetime


class RequiredFieldAdded(BaseModel):
    case_id: UUID
    sex: Sex
    organisation: str = Field(max_length=64)
    children: int
    note: str | None = None
    place: Place
    happened_at: datetime
    province_code: str


class OptionalFieldAdded(BaseModel):
    """A new description is no change either."""

    case_id: UUID = Field(description="Now documented.")
    sex: Sex
    organisation: str = Field(max_length=64)
    children: int
    note: str | None = None
    place: Place
    happened_at: datetime
    province_code: str | None = None


class NarrowSex(StrEnum):
    FEMALE = "female"
    MALE = "male"


class EnumValueRemoved(BaseModel):
    case_id: UUID
    sex: NarrowSex
    organisation: str = Field(max_length=64)
    children: int
    note: str | None = None
    place: Place
    happened_at: datetime


class WideSex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"
    OTHER = "other"


class EnumValueAdded(BaseModel):
    case_id: UUID
    sex: WideSex
    organisation: str = Field(max_length=64)
    children: int
    note: str | None = None
    place: Place
    happened_at: datetime


class PlaceWithoutVillage(BaseModel):
    province_code: str = Field(pattern=r"^[0-9]{2}$")


class NestedFieldRemoved(BaseModel):
    case_id: UUID
    sex: Sex
    organisation: str = Field(max_length=64)
    children: int
    note: str | None = None
    place: PlaceWithoutVillage
    happened_at: datetime


class Location(BaseModel):
    """Same fields as Place under another name: the name is not on the wire."""

    province_code: str = Field(pattern=r"^[0-9]{2}$")
    village: str | None = None


class NestedModelRenamed(BaseModel):
    case_id: UUID
    sex: Sex
    organisation: str = Field(max_length=64)
    children: int
    note: str | None = None
    place: Location
    happened_at: datetime


class BecameRequired(BaseModel):
    case_id: UUID
    sex: Sex
    organisation: str = Field(max_length=64)
    children: int
    note: str | None
    place: Place
    happened_at: datetime


class NoLongerRequired(BaseModel):
    case_id: UUID
    sex: Sex
    organisation: str = Field(max_length=64)
    children: int | None = None
    note: str | None = None
    place: Place
    happened_at: datetime


class NoLongerNullable(BaseModel):
    case_id: UUID
    sex: Sex
    organisation: str = Field(max_length=64)
    children: int
    note: str = ""
    place: Place
    happened_at: datetime


class ConstraintChanged(BaseModel):
    case_id: UUID
    sex: Sex
    organisation: str = Field(max_length=32)
    children: int
    note: str | None = None
    place: Place
    happened_at: datetime


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        pytest.param(Published, [], id="unchanged"),
        pytest.param(OptionalFieldAdded, [], id="optional field added: compatible"),
        pytest.param(NestedModelRenamed, [], id="nested model renamed: compatible"),
        pytest.param(FieldRemoved, ["field 'children' removed"], id="field removed"),
        pytest.param(
            FieldRetyped, ["field 'children' retyped from integer to string"], id="retyped"
        ),
        pytest.param(
            FormatChanged, ["field 'case_id' retyped from string (uuid) to string"], id="format"
        ),
        pytest.param(
            RequiredFieldAdded, ["new required field 'province_code'"], id="new required field"
        ),
        pytest.param(
            EnumValueRemoved, ["field 'sex': enum value \"unknown\" removed"], id="enum narrowed"
        ),
        pytest.param(
            EnumValueAdded,
            ["field 'sex': enum value \"other\" added, which readers of it reject"],
            id="enum widened",
        ),
        pytest.param(
            NestedFieldRemoved, ["field 'place.village' removed"], id="nested field removed"
        ),
        pytest.param(BecameRequired, ["field 'note' became required"], id="became required"),
        pytest.param(
            NoLongerRequired,
            [
                "field 'children' no longer required",
                "field 'children' now accepts null, which readers of it reject",
            ],
            id="no longer required",
        ),
        pytest.param(NoLongerNullable, ["field 'note' no longer accepts null"], id="not null"),
        pytest.param(
            ConstraintChanged,
            ["field 'organisation': maxLength changed from 64 to 32"],
            id="constraint changed",
        ),
    ],
)
def test_breaking_changes(current: type[BaseModel], expected: list[str]) -> None:
    changes = breaking_changes(TYPE, Published.model_json_schema(), current.model_json_schema())

    assert [change.problem for change in changes] == expected
    assert all(str(change).startswith(f"{TYPE}: ") for change in changes)


class Node(BaseModel):
    name: str
    children: list[Node] = []


class NodeWithoutName(BaseModel):
    children: list[NodeWithoutName] = []


def test_recursive_models_are_compared_to_the_end() -> None:
    assert breaking_changes(TYPE, Node.model_json_schema(), Node.model_json_schema()) == []

    changes = breaking_changes(TYPE, Node.model_json_schema(), NodeWithoutName.model_json_schema())

    assert [change.problem for change in changes] == ["field 'name' removed"]


def test_a_published_type_that_disappeared_is_breaking() -> None:
    problems = compatibility_problems({TYPE: Published.model_json_schema()}, {})

    assert len(problems) == 1
    assert problems[0].event_type == TYPE
    assert "no longer defined" in problems[0].problem


def test_a_new_version_beside_the_published_one_is_compatible() -> None:
    published = {TYPE: Published.model_json_schema()}
    current = {
        TYPE: Published.model_json_schema(),
        TYPE.replace(".v1", ".v2"): FieldRemoved.model_json_schema(),
    }

    assert compatibility_problems(published, current) == []


def test_publishing_freezes_new_types_and_never_overwrites(tmp_path: Path) -> None:
    assert publish_new_types(tmp_path, {TYPE: Published.model_json_schema()}) == [TYPE]

    later = {TYPE: FieldRemoved.model_json_schema()}
    assert publish_new_types(tmp_path, later) == []
    assert load_published(tmp_path) == {TYPE: Published.model_json_schema()}
    assert compatibility_problems(load_published(tmp_path), later) == [
        BreakingChange(TYPE, "field 'children' removed")
    ]


def test_current_contracts_are_compatible_with_published_versions() -> None:
    current = data_schemas()

    assert unpublished_types(PUBLISHED_DIR, current) == [], "run `make contracts`"
    problems = compatibility_problems(load_published(PUBLISHED_DIR), current)
    assert not problems, "\n".join(map(str, problems))
