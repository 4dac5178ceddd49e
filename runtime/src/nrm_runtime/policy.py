"""Each route's access policy, declared next to the route, readable by tests and clients.

A route states who may call it (function level), which objects of the caller's it acts
on (object level) and whether it returns or changes a person's data (then it must write
an audit entry)::

    @router.get(
        "/cases/{case_id}",
        openapi_extra=policy(
            Role.CASE_MANAGER, objects=Objects.OWN_ORGANISATION, personal_data=True
        ),
    )

The declaration documents the rule (it is published in the OpenAPI document under
``x-nrm-policy``); the route still enforces it with ``require_roles`` and its own object
check. The cross-service tests read every route's declaration (:func:`declared_routes`)
and call each route as every role of every other organisation: a route without one
fails them, and so does a route whose behaviour differs from what it declares.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from nrm_runtime.auth import OrganisationType, Role

POLICY_KEY = "x-nrm-policy"
UNAUTHENTICATED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""The runtime's probes: no token, and nothing about anyone in their answers."""


class Objects(StrEnum):
    """Object level: which objects an admitted caller may act on."""

    NONE = "none"
    """The route names no object (a search, a list of the caller's own, a create)."""
    ANY = "any"
    """Every admitted caller, every object: public records, or cases an authority shares."""
    OWN_ORGANISATION = "own_organisation"
    """Objects the caller's organisation owns, is assigned or is addressed by (the
    route's own check may name overseers besides, e.g. a registrar)."""
    OWN_COUNTRY = "own_country"
    """A foreign agency's: the objects concerning its country only."""


@dataclass(frozen=True)
class RoutePolicy:
    """What a route declares: who, which objects, and whether it touches a person."""

    roles: frozenset[Role]
    objects: Objects
    personal_data: bool
    organisation_types: frozenset[OrganisationType] = frozenset()
    """Empty: any type of organisation holding one of ``roles``."""

    def admits(self, role: Role, organisation_type: OrganisationType) -> bool:
        """Whether a caller in ``role`` of that type passes the function-level check."""
        return role in self.roles and (
            not self.organisation_types or organisation_type in self.organisation_types
        )


def policy(
    *roles: Role,
    objects: Objects,
    personal_data: bool = False,
    organisation_types: Iterable[OrganisationType] = (),
) -> dict[str, Any]:
    """The route's declaration, for its decorator's ``openapi_extra``.

    ``personal_data``: the route returns or changes a person's data (names, birth dates,
    documents, contacts, notes), so every call it serves writes an audit entry.
    """
    if not roles:
        raise ValueError("a policy names the roles that may call the route")
    return {
        POLICY_KEY: {
            "roles": sorted(role.value for role in roles),
            "objects": objects.value,
            "personal_data": personal_data,
            "organisation_types": sorted(kind.value for kind in organisation_types),
        }
    }


def policy_of(route: APIRoute) -> RoutePolicy | None:
    """The policy ``route`` declares, if any."""
    return _parsed((route.openapi_extra or {}).get(POLICY_KEY))


def _parsed(declared: dict[str, Any] | None) -> RoutePolicy | None:
    if declared is None:
        return None
    return RoutePolicy(
        roles=frozenset(Role(role) for role in declared["roles"]),
        objects=Objects(declared["objects"]),
        personal_data=bool(declared["personal_data"]),
        organisation_types=frozenset(
            OrganisationType(kind) for kind in declared["organisation_types"]
        ),
    )


@dataclass(frozen=True)
class DeclaredRoute:
    """One operation of an app with the policy it declares (None: it declares none)."""

    method: str
    path: str
    policy: RoutePolicy | None


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def declared_routes(app: FastAPI) -> list[DeclaredRoute]:
    """Every operation of ``app``'s OpenAPI document but the runtime's probes.

    Read from the document rather than ``app.routes``: it lists every operation however
    routers were included, with the declaration as published to clients. A route hidden
    from the document (``include_in_schema=False``) is not listed: hide none that serves
    data.
    """
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path in UNAUTHENTICATED_PATHS:
            continue
        for method, operation in operations.items():
            if method in _METHODS:
                found.append(
                    DeclaredRoute(method.upper(), path, _parsed(operation.get(POLICY_KEY)))
                )
    return found
