"""Wires the identification service: ``uvicorn identification.app:create_app --factory``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from identification.api import router
from identification.settings import IdentificationSettings
from identification.store import tables
from nrm_contracts import Topic
from nrm_runtime.service import ServiceDefinition, create_service_app


def create_app(settings: IdentificationSettings | None = None) -> FastAPI:
    return create_service_app(
        ServiceDefinition(
            title="NRM identification",
            description="Standard screening of presumed victims of trafficking by any first "
            "responder; decisions by the Competent Authority.",
            settings=settings or IdentificationSettings(),
            tables=tables,
            migrations=Path(__file__).parent / "migrations",
            owned_topic=Topic.IDENTIFICATION,
            routers=[router],
        )
    )
