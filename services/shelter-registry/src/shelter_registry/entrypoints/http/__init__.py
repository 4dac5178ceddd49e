"""The registry's HTTP routes: the routers the app mounts, in this order."""

from fastapi import APIRouter

from shelter_registry.entrypoints.http import beds, facilities, organisations, registration

ROUTERS: list[APIRouter] = [
    organisations.router,
    facilities.router,
    registration.router,
    beds.router,
]
