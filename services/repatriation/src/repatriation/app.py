"""Wires the repatriation service: ``uvicorn repatriation.app:create_app --factory``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from nrm_contracts import Topic
from nrm_runtime.service import ServiceDefinition, create_service_app
from repatriation.settings import RepatriationSettings
from repatriation.store import tables


def create_app(settings: RepatriationSettings | None = None) -> FastAPI:
    return create_service_app(
        ServiceDefinition(
            title="NRM repatriation",
            description="Cross-border cases run by bilateral SOPs as data, "
            "with the counterpart agencies' liaison API.",
            settings=settings or RepatriationSettings(),
            tables=tables,
            migrations=Path(__file__).parent / "migrations",
            owned_topic=Topic.REPATRIATION,
        )
    )
