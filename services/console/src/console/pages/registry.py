"""The registry: facilities and their free beds on a map of Cambodia (SVG drawn on the
server from each facility's coordinates; no tile server), and the coverage gaps by
province and population group. Any signed-in user may read it (the public directory)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.context import context_of
from console.pages.guard import signed_in
from console.pages.rendering import render
from nrm_runtime.reference_codes import provinces

router = APIRouter(include_in_schema=False)

# Cambodia's extent, and the map's size in SVG units (equirectangular: at 10-15 N the
# distortion is small enough for a sketch of where the beds are).
WEST, EAST, SOUTH, NORTH = 102.3, 107.7, 10.3, 14.8
MAP_WIDTH = 540
MAP_HEIGHT = round(MAP_WIDTH * (NORTH - SOUTH) / (EAST - WEST))
DIRECTORY_LIMIT = "500"
GAP_TITLES = {
    "no_residential_provider": "no residential provider anywhere",
    "no_provider_in_province": "no provider in the province",
}


def position(latitude: float, longitude: float) -> tuple[float, float]:
    return (
        round((longitude - WEST) / (EAST - WEST) * MAP_WIDTH, 1),
        round((NORTH - latitude) / (NORTH - SOUTH) * MAP_HEIGHT, 1),
    )


def capitals() -> list[dict[str, Any]]:
    """The provincial capitals as landmarks (the runtime's reference coordinates): without
    province outlines, they tell the reader where on the frame a dot is."""
    return [
        {"code": province.code, "xy": position(province.latitude, province.longitude)}
        for province in provinces()
    ]


def placed(facility: dict[str, Any]) -> dict[str, Any] | None:
    """The facility as a dot on the map (its radius grows with free beds), or None
    without coordinates."""
    location = facility["location"]
    latitude, longitude = location.get("latitude"), location.get("longitude")
    if latitude is None or longitude is None:
        return None
    free = facility["capacity"]["beds_free"] if facility.get("capacity") else 0
    x, y = position(latitude, longitude)
    return {
        "x": x,
        "y": y,
        "r": 4 + min(free, 30) / 3,
        "free": free,
        "name": facility["name"],
        "full": free == 0,
    }


@router.get("/registry")
async def registry(request: Request) -> Response:
    _, user = signed_in(request)
    backbone = context_of(request).backbone
    directory = await backbone.get(
        user.access_token,
        "shelter-registry",
        "/directory",
        limit=DIRECTORY_LIMIT,
        registration_status="registered",
    )
    coverage = await backbone.get(user.access_token, "shelter-registry", "/coverage")
    facilities = directory["items"]
    dots = [dot for dot in map(placed, facilities) if dot is not None]
    national = [gap for gap in coverage["gaps"] if gap["province_code"] is None]
    by_province: dict[str, list[str]] = {}
    for gap in coverage["gaps"]:
        if gap["province_code"] is not None:
            by_province.setdefault(gap["province_code"], []).append(gap["group"])
    return render(
        request,
        "registry.html",
        {
            "facilities": facilities,
            "dots": dots,
            "capitals": capitals(),
            "national_gaps": national,
            "province_gaps": sorted(by_province.items()),
            "map_width": MAP_WIDTH,
            "map_height": MAP_HEIGHT,
            "gap_titles": GAP_TITLES,
        },
    )
