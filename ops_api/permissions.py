"""Who may do what: the role table of API.md as data. Every route names one permission here.

Row-level limits sit on top (see `Principal`): facility scoping for everyone, and physicians
see only their own appointments, encounters and the patients they have seen.
"""

from pms.enums import Role

ADMIN, FRONT, BILLER, DOC, EXEC, ANALYST = (Role.admin, Role.front_desk, Role.biller, Role.physician,
                                            Role.executive, Role.analyst)
STAFF = frozenset({ADMIN, FRONT, BILLER, DOC})
EVERYONE = frozenset(Role)

PERMISSIONS: dict[str, frozenset[Role]] = {
    "facilities:read": EVERYONE,  # names for report filters; no PHI
    "facilities:write": frozenset({ADMIN}),
    "providers:read": EVERYONE,
    "providers:write": frozenset({ADMIN}),
    "schedules:read": STAFF,
    "schedules:write": frozenset({ADMIN}),
    "payers:read": STAFF | {EXEC, ANALYST},
    "payers:write": frozenset({ADMIN, BILLER}),
    "fee_schedule:read": STAFF,
    "fee_schedule:write": frozenset({ADMIN, BILLER}),
    "patients:read": frozenset({ADMIN, FRONT, BILLER, DOC}),
    "patients:write": frozenset({ADMIN, FRONT}),
    "coverages:read": frozenset({ADMIN, FRONT, BILLER}),
    "coverages:write": frozenset({ADMIN, FRONT}),
    "appointments:read": frozenset({ADMIN, FRONT, DOC}),
    "appointments:write": frozenset({ADMIN, FRONT}),
    "encounters:read": frozenset({ADMIN, BILLER, DOC}),
    "encounters:write": frozenset({ADMIN, BILLER, DOC}),
    "claims:read": frozenset({ADMIN, BILLER}),
    "claims:write": frozenset({ADMIN, BILLER}),
    "payments:read": frozenset({ADMIN, BILLER}),
    "payments:write": frozenset({ADMIN, BILLER}),
    "balance:read": frozenset({ADMIN, FRONT, BILLER}),
    "adjustments:read": frozenset({ADMIN, BILLER}),
    "adjustments:write": frozenset({ADMIN, BILLER}),
    "adjustments:approve": frozenset({ADMIN}),
    "reports:read": frozenset({ADMIN, EXEC, ANALYST}),
    "users:admin": frozenset({ADMIN}),
    "audit:read": frozenset({ADMIN}),
    "self:read": EVERYONE,
}


def allowed(role: Role, permission: str) -> bool:
    return role in PERMISSIONS[permission]
