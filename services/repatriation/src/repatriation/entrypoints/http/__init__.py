"""Repatriation's routes: the officers' (cases, deadlines, reference) and the counterpart
agencies' liaison API."""

from __future__ import annotations

from fastapi import APIRouter

from repatriation.entrypoints.http import cases, deadlines, liaison, sops

ROUTERS: list[APIRouter] = [cases.router, deadlines.router, sops.router, liaison.router]
"""In the order the OpenAPI document lists them."""
