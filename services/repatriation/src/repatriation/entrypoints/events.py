"""What repatriation consumes from the other services' topics: nothing yet. Its cases
open from an officer's request or a counterpart's liaison message, never from an event;
a handler for a consumed event goes in this table, and its subscription below."""

from __future__ import annotations

from typing import Any

from nrm_runtime.consumer import Handler, Subscription

HANDLERS: dict[Any, Handler] = {}

SUBSCRIPTIONS: list[Subscription] = []
