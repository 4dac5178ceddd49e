"""NRM shelter registry's tables (none yet: the service issue adds them)."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class ShelterRegistryTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata, in this service's database only."""


tables = ShelterRegistryTable.metadata
