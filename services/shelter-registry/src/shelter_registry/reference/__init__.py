"""Reference data: Cambodia's provinces (the runtime's,
:mod:`nrm_runtime.reference_codes`) and a set of invented facilities shipped with the
service (``facilities.yaml``). Load the facilities with
``python -m shelter_registry.reference load`` or at start (setting
``SHELTER_REGISTRY_LOAD_REFERENCE_DATA``); see :mod:`shelter_registry.reference.loader`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from nrm_runtime.reference_codes import provinces
from shelter_registry.geography import Geography, Province

DIRECTORY = Path(__file__).parent
FACILITIES_FILE = DIRECTORY / "facilities.yaml"


def read_yaml(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


@cache
def geography() -> Geography:
    """Cambodia's 25 provinces and their borders (read once, on first use)."""
    known = provinces()
    return Geography(
        [Province(p.code, p.name, p.latitude, p.longitude) for p in known],
        [(p.code, neighbour) for p in known for neighbour in p.neighbours if p.code < neighbour],
    )
