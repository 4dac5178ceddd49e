"""Reference data shipped with the service: Cambodia's provinces and a set of invented
facilities (``facilities.yaml``). Load the facilities with
``python -m shelter_registry.reference load`` or at start (setting
``SHELTER_REGISTRY_LOAD_REFERENCE_DATA``); see :mod:`shelter_registry.reference.loader`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from shelter_registry.geography import Geography, Province

DIRECTORY = Path(__file__).parent
PROVINCES_FILE = DIRECTORY / "provinces.yaml"
FACILITIES_FILE = DIRECTORY / "facilities.yaml"


def read_yaml(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


@cache
def geography() -> Geography:
    """Cambodia's 25 provinces and their borders (read once, on first use)."""
    document = read_yaml(PROVINCES_FILE)
    provinces = [
        Province(
            code=str(entry["code"]),
            name=str(entry["name"]),
            latitude=float(entry["latitude"]),
            longitude=float(entry["longitude"]),
        )
        for entry in document["provinces"]
    ]
    borders = [(str(first), str(second)) for first, second in document["borders"]]
    return Geography(provinces, borders)
