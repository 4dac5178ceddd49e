"""Reference data shipped with the service: the Cambodian province codes (the public
holidays are the runtime's: :mod:`nrm_runtime.working_days`).

Read from the package's data files when first asked for (never at import time).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"


@cache
def province_names() -> dict[str, str]:
    """The 25 Cambodian provinces (with the capital) by their two-digit code."""
    document = json.loads((DATA_DIR / "provinces.json").read_text(encoding="utf-8"))
    provinces: dict[str, str] = document["provinces"]
    return provinces


def is_province_code(code: str) -> bool:
    return code in province_names()


def province_enum(schema: dict[str, Any]) -> None:
    """A ``json_schema_extra``: the codes as the schema's enum, so that a client learns
    from the document that "00" is no province (called as the document is built)."""
    schema["enum"] = sorted(province_names())
