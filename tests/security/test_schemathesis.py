"""Property-based runs against the app's own OpenAPI, as every role: no 5xx, nothing off-schema.

Cases are generated from the schema (valid inputs, and for the admin also invalid ones); half of
them get the ids of real rows (see world.py) so they reach past "404 not found" into the services.
SQLite only, and bounded example counts, so the whole run stays near a minute on two cores.
"""

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from ops_api.models import Provider
from ops_api.security import create_access_token
from pms.enums import Role
from tests.security.world import build_world

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# (examples per operation in valid mode, in invalid mode): the admin reaches everything, so gets the most.
BUDGET = {Role.admin: (8, 4)} | {role: (3, 0) for role in Role if role != Role.admin}
RUNS = {"cases": 0}


@pytest.fixture
def backend(sqlite_backend):
    return sqlite_backend


def with_world_ids(case, world, use_world: bool) -> None:
    """Point the case's path parameters and top-level body ids at real rows."""
    if not use_world:
        return
    for name in list(case.path_parameters or {}):
        if name in world.ids:
            case.path_parameters[name] = world.ids[name]
    if isinstance(case.body, dict):
        for name in list(case.body):
            if name in world.ids:
                case.body[name] = world.ids[name]


def run_operation(operation, mode: GenerationMode, examples: int, headers, world) -> str | None:
    """The first failure for one operation (schemathesis' report), or None."""
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(generation_mode=mode), use_world=st.booleans())
    def check(case, use_world):
        with_world_ids(case, world, use_world)
        RUNS["cases"] += 1
        response = case.call(headers=headers())
        case.validate_response(response, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        assert mode == GenerationMode.NEGATIVE, operation.label  # nothing to make invalid: no parameters
    except Exception as exc:  # noqa: BLE001 - every operation runs; failures are reported together
        return f"{operation.label} ({mode.value}): {exc}"
    return None


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_openapi_properties_hold_for_every_role(app, client, make, admin, role):
    world = build_world(client, make, admin)
    provider = make.db.get(Provider, uuid.UUID(world.ids["provider_id"]))
    user = make.user(role.value, provider=provider if role == Role.physician else None)

    def headers() -> dict:  # a fresh token each call: the schema includes /auth/logout
        return {"Authorization": f"Bearer {create_access_token(user.id, role.value)}"}

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # /reports/kpis reads the marts: without a warehouse it answers 503 by design; it is exercised
    # against a live warehouse in tests/dbt/test_reports_api.py.
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if "/reports/" not in op.path]
    assert len(operations) >= 50
    valid, invalid = BUDGET[role]
    before = RUNS["cases"]
    failures = [failure for op in operations
                for mode, examples in ((GenerationMode.POSITIVE, valid), (GenerationMode.NEGATIVE, invalid))
                if examples and (failure := run_operation(op, mode, examples, headers, world))]
    ran = RUNS["cases"] - before
    print(f"schemathesis as {role.value}: {ran} cases over {len(operations)} operations")
    assert ran >= len(operations)  # every operation really ran (those without inputs have one case)
    assert not failures, "\n\n".join(failures)
