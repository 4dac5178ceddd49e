"""Identification's routers, in the order ``create_app`` mounts them."""

from fastapi import APIRouter

from identification.entrypoints.http import cases, persons, proceedings, screenings, statistics

ROUTERS: list[APIRouter] = [
    screenings.router,
    cases.router,
    persons.router,
    statistics.router,
    proceedings.router,
]
