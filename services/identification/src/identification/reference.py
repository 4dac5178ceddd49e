"""Reference data shipped with the service: Cambodian province codes, public holidays.

Read from the package's data files when first asked for (never at import time).
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_HOLIDAYS_FILE = DATA_DIR / "public_holidays.json"


@cache
def province_names() -> dict[str, str]:
    """The 25 Cambodian provinces (with the capital) by their two-digit code."""
    document = json.loads((DATA_DIR / "provinces.json").read_text(encoding="utf-8"))
    provinces: dict[str, str] = document["provinces"]
    return provinces


def is_province_code(code: str) -> bool:
    return code in province_names()


def load_public_holidays(path: Path) -> frozenset[date]:
    """The public holidays listed in ``path`` (``{"holidays": {"YYYY-MM-DD": name}}``)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return frozenset(date.fromisoformat(day) for day in document["holidays"])
