"""The app's route table, read off the app itself: every API operation and the permission that gates it."""

from collections.abc import Iterator

from fastapi import FastAPI

from ops_api.api.deps import Allow

PUBLIC = {("/api/v1/auth/token", "POST")}  # the only operation anyone may call without a token
# Patient-level data (API.md), written out here rather than imported from ops_api.audit.
PHI_PREFIXES = tuple(f"/api/v1/{area}" for area in
                     ("patients", "appointments", "encounters", "claims", "payments", "adjustments"))


def _flatten(routes) -> Iterator:
    """FastAPI ≥ 0.160 keeps included routers nested; their effective routes carry the full path."""
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            yield from route.effective_route_contexts()
        else:
            yield route


def _permissions(dependant) -> list[str]:
    found = []
    for dep in dependant.dependencies:
        if isinstance(dep.call, Allow):
            found.append(dep.call.permission)
        found += _permissions(dep)
    return found


def api_routes(app: FastAPI) -> list[tuple[str, str, str | None]]:
    """(path template, method, permission) for every /api operation; permission None when ungated."""
    table = []
    for route in _flatten(app.routes):
        path = getattr(route, "path_format", "")
        if not path.startswith("/api/") or getattr(route, "dependant", None) is None:
            continue
        permissions = sorted(set(_permissions(route.dependant)))
        assert len(permissions) <= 1, f"{path} is gated by several permissions: {permissions}"
        for method in sorted(route.methods):
            table.append((path, method, permissions[0] if permissions else None))
    return table
