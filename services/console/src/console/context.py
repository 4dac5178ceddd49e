"""What the console's pages share: settings, sessions, the services' client, sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from console.backbone import Backbone
from console.oidc import OidcClient
from console.sessions import SessionStore
from console.settings import ConsoleSettings


@dataclass(frozen=True)
class ConsoleContext:
    settings: ConsoleSettings
    sessions: SessionStore
    backbone: Backbone
    oidc: OidcClient


def context_of(request: Request) -> ConsoleContext:
    context: ConsoleContext = request.app.state.console
    return context
