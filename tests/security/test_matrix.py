"""Role × route × facility, generated from the app's own route table.

The expected roles are written here from API.md, independently of ops_api/permissions.py, and the
two must agree; every route must name a permission that this table knows. So a wrong permission
table, or a new route without a rule, fails this suite.
"""

import uuid

import pytest

from ops_api.models import Provider
from ops_api.permissions import PERMISSIONS
from ops_api.security import create_access_token
from pms.enums import Role
from tests.security.routes import PHI_PREFIXES, PUBLIC, api_routes
from tests.security.world import build_world

A, F, B, P, E, N = "admin", "front_desk", "biller", "physician", "executive", "analyst"
EVERYONE = {A, F, B, P, E, N}
STAFF = {A, F, B, P}

# API.md "Roles (RBAC)", area by area.
EXPECTED: dict[str, set[str]] = {
    # patient-level data: never executives or analysts ("no patient-level PHI")
    "patients:read": {A, F, B, P},          # front desk r/w; biller "patients read"; physician "patients seen"
    "patients:write": {A, F},
    "coverages:read": {A, F, B},            # front desk r/w; the biller bills them
    "coverages:write": {A, F},
    "appointments:read": {A, F, P},         # physician: own appointments
    "appointments:write": {A, F},
    "encounters:read": {A, B, P},           # biller: charges; physician: encounters and charges, own visits
    "encounters:write": {A, B, P},
    "claims:read": {A, B},                  # front desk: "no claims"
    "claims:write": {A, B},
    "payments:read": {A, B},                # front desk sees payments only through the balance
    "payments:write": {A, B},
    "balance:read": {A, F, B},
    "adjustments:read": {A, B},
    "adjustments:write": {A, B},
    "adjustments:approve": {A},             # above the limit an admin approves
    # aggregates
    "reports:read": {A, E, N},
    # administration: "users and roles, audit log"
    "users:admin": {A},
    "audit:read": {A},
    # the practice's reference data: no PHI; names are needed to filter reports
    "facilities:read": EVERYONE,
    "facilities:write": {A},
    "providers:read": EVERYONE,
    "providers:write": {A},
    "schedules:read": STAFF,
    "schedules:write": {A},
    "payers:read": STAFF | {E, N},
    "payers:write": {A, B},
    "fee_schedule:read": STAFF,
    "fee_schedule:write": {A, B},
    "self:read": EVERYONE,
}
UNSCOPED_PARAMS = {"payer_id", "user_id"}  # payers and staff accounts belong to the organization, not a facility


def test_permission_table_matches_api_md():
    assert {k: {r.value for r in v} for k, v in PERMISSIONS.items()} == EXPECTED
    for permission, roles in EXPECTED.items():
        if permission.split(":")[0] in {"patients", "coverages", "appointments", "encounters", "claims",
                                        "payments", "balance", "adjustments"}:
            assert not roles & {E, N}, f"{permission}: executives and analysts get no patient-level data"


@pytest.fixture
def role_users(make):
    """One user per role, unscoped; the physician is linked to a provider record."""
    facility = make.facility()
    return {role: make.user(role.value, provider=make.provider([facility]) if role == Role.physician else None)
            for role in Role}


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {create_access_token(user.id, user.role.value)}"}


def test_every_route_is_403_exactly_for_roles_without_its_permission(client, role_users):
    routes = api_routes(client.app)
    assert len(routes) >= 50 and any(p.startswith(PHI_PREFIXES) for p, _, _ in routes)
    checked = 0
    # Random ids and an empty body: a permitted role gets 404 or 422, never as far as a business rule.
    ids = {name: str(uuid.uuid4()) for name in ("patient_id", "coverage_id", "appointment_id", "encounter_id",
                                                "claim_id", "payment_id", "adjustment_id", "facility_id",
                                                "provider_id", "payer_id", "user_id")}
    for path, method, permission in routes:
        if permission is None:
            assert (path, method) in PUBLIC, f"{method} {path} has no Allow(...) permission"
            continue
        assert permission in EXPECTED, f"{method} {path}: permission {permission!r} is not in the expected table"
        url = path.format(**ids)
        for role, user in role_users.items():
            body = {} if method in {"POST", "PUT", "PATCH"} else None
            r = client.request(method, url, headers=bearer(user), json=body)
            may = role.value in EXPECTED[permission]
            assert (r.status_code == 403) == (not may), f"{role.value} {method} {path}: {r.status_code} {r.text}"
            if path.startswith(PHI_PREFIXES) and role.value in {E, N}:
                assert r.status_code == 403
            assert r.status_code < 500, (role.value, method, path, r.text)
            checked += 1
    assert checked == 6 * sum(1 for _, _, p in routes if p is not None)


def test_facility_scoped_users_get_404_for_other_facilities_rows(client, admin, make, auth):
    mine, theirs = build_world(client, make, admin), build_world(client, make, admin)
    get_by_id = [(path, permission) for path, method, permission in api_routes(client.app)
                 if method == "GET" and "{" in path and permission is not None]
    assert len(get_by_id) >= 10
    provider = make.db.get(Provider, uuid.UUID(mine.ids["provider_id"]))  # a physician sees their own visits
    checked = 0
    for path, permission in get_by_id:
        params = set(part[1:-1] for part in path.split("/") if part.startswith("{"))
        scoped = not params <= UNSCOPED_PARAMS
        for role in sorted(EXPECTED[permission]):
            headers = auth(role, facilities=[mine.facility], provider=provider if role == P else None)
            own = client.get(mine.fill(path), headers=headers)
            other = client.get(theirs.fill(path), headers=headers)
            assert own.status_code == 200, (role, path, own.text)
            assert other.status_code == (404 if scoped else 200), (role, path, other.text)
            checked += 1
    assert checked >= len(get_by_id)
