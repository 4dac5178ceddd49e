"""The registry of organisations a token may name: id, type, country, whether active.

Loaded from a YAML file (``organisations_file``; dev and tests: deploy/dev-organisations.yaml)::

    organisations:
      - {id: vnm-molisa, type: foreign_agency, country: VNM, name: "..."}
      - {id: ngo-closed, type: ngo, country: KHM, name: "...", active: false}

A token whose organisation is unknown, inactive, or of another type than the registry's
is refused with 401 by the token verifier: the identity provider vouched for a principal
that this backbone does not recognise, so the credential is not accepted at all (403 is
for a recognised caller whose role may not do something). Services ask the registry about
the caller's organisation through ``CurrentOrganisation`` (e.g. a foreign agency's
``country``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nrm_runtime.auth import CurrentPrincipal, OrganisationType, Principal
from nrm_runtime.errors import ProblemError


class Organisation(BaseModel):
    """One organisation of the backbone."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    type: OrganisationType
    country: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3")
    name: str = Field(min_length=1)
    active: bool = True


class OrganisationRegistry:
    """The organisations, by id."""

    def __init__(self, organisations: Iterable[Organisation]) -> None:
        self._by_id: dict[str, Organisation] = {}
        for organisation in organisations:
            if organisation.id in self._by_id:
                raise ValueError(f"organisation {organisation.id!r} is listed twice")
            self._by_id[organisation.id] = organisation

    @classmethod
    def load(cls, path: Path) -> OrganisationRegistry:
        """The registry in ``path``; ``ValueError`` naming the entry when one is invalid."""
        document = yaml.safe_load(path.read_text()) or {}
        entries = document.get("organisations") or []
        organisations = []
        for index, entry in enumerate(entries):
            try:
                organisations.append(Organisation.model_validate(entry))
            except ValidationError as invalid:
                raise ValueError(
                    f"{path}: organisation #{index + 1} is invalid: {invalid}"
                ) from None
        return cls(organisations)

    def get(self, organisation_id: str) -> Organisation | None:
        return self._by_id.get(organisation_id)

    def __iter__(self) -> Iterator[Organisation]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def recognise(self, principal: Principal) -> Organisation:
        """The principal's organisation if known, active and of the type the token claims;
        :class:`ProblemError` 401 otherwise (the same answer for all three, so a token
        forger learns nothing about which organisations exist)."""
        organisation = self._by_id.get(principal.organisation)
        if (
            organisation is None
            or not organisation.active
            or organisation.type is not principal.organisation_type
        ):
            raise ProblemError(
                401, "unknown_organisation", "the token's organisation is not recognised"
            )
        return organisation


def _current_organisation(request: Request, principal: CurrentPrincipal) -> Organisation:
    registry: OrganisationRegistry = request.app.state.organisations
    return registry.recognise(principal)


CurrentOrganisation = Annotated[Organisation, Depends(_current_organisation)]
"""The caller's organisation (a route dependency); e.g. ``organisation.country``."""
