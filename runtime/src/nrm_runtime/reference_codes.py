"""The reference codes every service reads and every client needs: Cambodia's provinces
(the National Institute of Statistics' two-digit codes, with names in English and Khmer,
the provincial capitals' coordinates and the shared land borders) and the languages
(ISO 639-1) seen among the persons met. One list, shipped with the runtime, read when
first asked for; served to clients at ``GET /reference/provinces`` and
``GET /reference/languages`` by every service, so that an integrator takes the codes
from the API, not from our source files.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, Field


class Province(BaseModel):
    code: str = Field(pattern=r"^[0-9]{2}$", description="Two-digit province code (NIS)")
    name: str = Field(description="The name in English, as the NIS writes it")
    name_km: str = Field(description="The name in Khmer script")
    capital: str
    latitude: float = Field(description="The provincial capital's, approximate (WGS 84)")
    longitude: float
    neighbours: list[str] = Field(description="Codes of the provinces sharing a land border")


class Language(BaseModel):
    code: str = Field(pattern=r"^[a-z]{2}$", description="ISO 639-1")
    name: str = Field(description="The name in English")
    native_name: str = Field(description="The name in the language itself")


def _document(name: str) -> dict[str, Any]:
    text = resources.files("nrm_runtime").joinpath("data", name).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def provinces() -> tuple[Province, ...]:
    """The 25 provinces (the capital, Phnom Penh, among them), by code."""
    document = _document("cambodian_provinces.json")
    neighbours: dict[str, set[str]] = {entry["code"]: set() for entry in document["provinces"]}
    for first, second in document["borders"]:
        if first not in neighbours or second not in neighbours:
            raise ValueError(f"a border between unknown provinces {first}/{second}")
        neighbours[first].add(second)
        neighbours[second].add(first)
    return tuple(
        Province(**entry, neighbours=sorted(neighbours[entry["code"]]))
        for entry in sorted(document["provinces"], key=lambda entry: entry["code"])
    )


@cache
def province_codes() -> frozenset[str]:
    return frozenset(province.code for province in provinces())


def is_province_code(code: str) -> bool:
    return code in province_codes()


def province_enum(schema: dict[str, Any]) -> None:
    """A ``json_schema_extra``: the codes as the schema's enum, so that a client learns
    from the document that "00" is no province (called as the document is built)."""
    schema["enum"] = sorted(province_codes())


@cache
def languages() -> tuple[Language, ...]:
    return tuple(Language(**entry) for entry in _document("languages.json")["languages"])
