"""Referral's HTTP routes: the routers the app mounts, in this order."""

from fastapi import APIRouter

from referral.entrypoints.http import cases, needs, providers, referrals

ROUTERS: list[APIRouter] = [cases.router, needs.router, referrals.router, providers.router]
