"""Collects every resource router under /api/v1."""

from fastapi import APIRouter

from ops_api.api.routes import appointments, audit, auth, claims, encounters, org, patients, payments, reports, users

api_router = APIRouter(prefix="/api/v1")
for module in (auth, users, audit, org, patients, appointments, encounters, claims, payments, reports):
    api_router.include_router(module.router)
