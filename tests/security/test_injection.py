"""SQL injection, malformed and oversized input on every search and write route: 4xx, data unchanged."""

import json
import uuid

import pytest
from sqlalchemy import func, select

from ops_api import audit
from ops_api.models import Base, Patient
from tests.security.world import build_world

SQLI = [
    "' OR '1'='1",
    "x' OR 1=1 --",
    "'; DROP TABLE patients; --",
    "%' UNION SELECT id, mrn, first_name FROM patients --",
    "\\'; DELETE FROM coverages WHERE ''='",
    "1; SELECT pg_sleep(5) --",
    "' || (SELECT password_hash FROM users LIMIT 1) || '",
    "\x00' OR ''='",
]
BODY_ROUTES = ("POST", "PUT", "PATCH")


def counts(db) -> dict[str, int]:
    """Rows in every table but the audit trail (denied and read requests append to it by design)."""
    db.expire_all()
    return {t.name: db.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
            if t.name != "audit_events"}


@pytest.fixture
def world(client, make, admin):
    return build_world(client, make, admin)


def openapi_operations(client):
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            yield path, method.upper(), op


def string_query_params(op) -> list[str]:
    names = []
    for param in op.get("parameters", []):
        schemas = param["schema"].get("anyOf", [param["schema"]])
        if param["in"] == "query" and any(s.get("type") == "string" and "format" not in s and "enum" not in s
                                          for s in schemas):
            names.append(param["name"])
    return names


def test_sql_injection_in_every_search_parameter_matches_nothing_and_changes_nothing(client, admin, world, db):
    before = counts(db)
    searched = 0
    for path, method, op in openapi_operations(client):
        if method != "GET" or not (params := string_query_params(op)):
            continue
        for name in params:
            for payload in SQLI:
                r = client.get(world.fill(path), params={name: payload}, headers=admin)
                assert r.status_code in (200, 400, 422), (path, name, payload, r.text)
                if r.status_code == 200 and "total" in r.json():
                    assert r.json()["total"] == 0, f"{path}?{name}={payload!r} matched rows"
                searched += 1
    assert searched >= len(SQLI) * 3  # at least patients, providers and payers take free text
    assert counts(db) == before


def hostile_bodies(op) -> list[tuple[str, bytes, int]]:
    """(what, raw body, expected status) for one JSON operation."""
    props = op["requestBody"]["content"].get("application/json", {}).get("schema", {})
    schema_ref = props.get("$ref", "")
    all_fields = {"patient_id": SQLI[0], "facility_id": SQLI[1], "first_name": SQLI[2], "status": SQLI[3],
                  "date_of_birth": SQLI[4], "amount": SQLI[5], "coverage_id": SQLI[6], "payer_id": SQLI[1]}
    return [
        ("malformed JSON", b'{"first_name": "x", ', 422),
        ("a JSON list", b"[1, 2, 3]", 422),
        ("a JSON string", b'"DROP TABLE patients"', 422),
        ("JSON null", b"null", 422),
        ("deeply nested", b"[" * 50_000 + b"]" * 50_000, None),
        ("SQL in every field", json.dumps(all_fields).encode(), 422),
        ("a NUL in a field", json.dumps({**all_fields, "x": SQLI[7]}).encode(), 400),
        ("invalid UTF-8", b'{"first_name": "\xff\xfe"}', None),
        ("oversized", b'{"first_name": "' + b"A" * (1024 * 1024) + b'"}', 413),
    ] if schema_ref or props else []


def test_hostile_bodies_on_every_write_route_are_4xx_and_change_nothing(client, admin, world, db):
    before = counts(db)
    sent = 0
    for path, method, op in openapi_operations(client):
        if method not in BODY_ROUTES or "requestBody" not in op or path == "/api/v1/auth/token":
            continue
        for what, body, expected in hostile_bodies(op):
            r = client.request(method, world.fill(path), content=body,
                               headers={**admin, "Content-Type": "application/json", "Idempotency-Key": what})
            assert 400 <= r.status_code < 500, (method, path, what, r.status_code, r.text[:300])
            assert expected is None or r.status_code == expected, (method, path, what, r.status_code, r.text[:300])
            sent += 1
    assert sent >= 9 * 15
    assert counts(db) == before
    assert audit.verify(db).ok


def test_injection_in_valid_fields_is_stored_as_text(client, admin, world, db):
    """Where free text is allowed, SQL is just text: stored as sent, found only by itself."""
    before = counts(db)
    name = "O'Brien'); DROP TABLE patients;--"
    r = client.post("/api/v1/patients", headers=admin, json={
        "first_name": name, "last_name": "Robert' OR '1'='1", "date_of_birth": "1990-01-01", "sex": "M",
        "facility_id": world.ids["facility_id"]})
    assert r.status_code == 201, r.text
    stored = db.get(Patient, uuid.UUID(r.json()["id"]))
    assert (stored.first_name, stored.last_name) == (name, "Robert' OR '1'='1")
    found = client.get("/api/v1/patients", params={"q": "o'brien');"}, headers=admin).json()
    assert [p["id"] for p in found["items"]] == [r.json()["id"]]
    after = counts(db)
    assert after["patients"] == before["patients"] + 1
    assert {k: v for k, v in after.items() if k not in {"patients", "outbox", "counters"}} == \
           {k: v for k, v in before.items() if k not in {"patients", "outbox", "counters"}}


def test_sign_in_with_injection_is_a_plain_401(client, make):
    make.user("admin")
    for payload in SQLI[:4]:
        r = client.post("/api/v1/auth/token", data={"username": payload, "password": payload})
        assert r.status_code == 401
