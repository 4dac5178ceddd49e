"""Wires the shelter-registry service: ``uvicorn shelter_registry.app:create_app --factory``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from nrm_contracts import Topic
from nrm_runtime.service import ServiceDefinition, create_service_app
from shelter_registry.settings import ShelterRegistrySettings
from shelter_registry.store import tables


def create_app(settings: ShelterRegistrySettings | None = None) -> FastAPI:
    return create_service_app(
        ServiceDefinition(
            title="NRM shelter registry",
            description="Organisations, facilities and their live capacity; "
            "registration with MOSVY; coverage and gaps.",
            settings=settings or ShelterRegistrySettings(),
            tables=tables,
            migrations=Path(__file__).parent / "migrations",
            owned_topic=Topic.SHELTER_REGISTRY,
        )
    )
