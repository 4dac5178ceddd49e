"""Cambodia's provinces: codes, names, capitals' coordinates, which share a border."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from nrm_runtime.reference_codes import provinces

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    latitude: float
    longitude: float


class Geography:
    """The provinces and their borders, for distance between a person and a facility."""

    def __init__(self, provinces: Iterable[Province], borders: Iterable[tuple[str, str]]) -> None:
        self.provinces: Mapping[str, Province] = {p.code: p for p in provinces}
        neighbours: dict[str, set[str]] = {code: set() for code in self.provinces}
        for first, second in borders:
            if first not in self.provinces or second not in self.provinces:
                raise ValueError(f"border between unknown provinces {first}/{second}")
            neighbours[first].add(second)
            neighbours[second].add(first)
        self._neighbours = {code: frozenset(found) for code, found in neighbours.items()}

    def is_province(self, code: str) -> bool:
        return code in self.provinces

    def name_of(self, code: str) -> str:
        return self.provinces[code].name

    def neighbours(self, code: str) -> frozenset[str]:
        return self._neighbours[code]

    def are_adjacent(self, first: str, second: str) -> bool:
        return second in self._neighbours.get(first, frozenset())

    def distance_km(
        self, origin: str, province: str, latitude: float | None, longitude: float | None
    ) -> float:
        """From the capital of ``origin`` to a place in ``province`` (its coordinates, else
        its province capital's): great-circle kilometres."""
        start = self.provinces[origin]
        if latitude is None or longitude is None:
            latitude, longitude = (
                self.provinces[province].latitude,
                self.provinces[province].longitude,
            )
        return haversine_km(start.latitude, start.longitude, latitude, longitude)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@cache
def geography() -> Geography:
    """Cambodia's 25 provinces and their borders, from the runtime's reference codes
    (read once, on first use)."""
    known = provinces()
    return Geography(
        [Province(p.code, p.name, p.latitude, p.longitude) for p in known],
        [(p.code, neighbour) for p in known for neighbour in p.neighbours if p.code < neighbour],
    )
