"""The audit trail: who, what, which patient, when, from where; denied attempts; the hash chain."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from ops_api import audit
from ops_api.db import session_factory
from ops_api.models import AuditEvent
from pms.cli import app as pms_cli

URL = "/api/v1/patients"


def patient_body(facility, **kw):
    return {"first_name": "Ada", "last_name": "Audit", "date_of_birth": "1970-05-06", "sex": "F",
            "facility_id": str(facility.id), **kw}


def events(db, **where) -> list[AuditEvent]:
    db.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.seq)
    for key, value in where.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return list(db.scalars(query))


def test_reads_and_writes_record_who_what_which_patient_when_where(client, auth, make, db):
    facility = make.facility()
    headers = auth("front_desk", facilities=[facility])
    before = datetime.now(UTC)
    r = client.post(URL, json=patient_body(facility), headers={**headers, "X-Request-ID": "req-create-1"})
    assert r.status_code == 201 and r.headers["X-Request-ID"] == "req-create-1"
    patient_id = uuid.UUID(r.json()["id"])
    r = client.get(f"{URL}/{patient_id}", headers=headers)
    generated = r.headers["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0  # none given: one is made up and returned
    me = client.get("/api/v1/auth/me", headers=headers).json()

    create, read = events(db, patient_id=patient_id)
    assert (create.action, create.method, create.route, create.status_code) == ("create", "POST", URL, 201)
    assert (read.action, read.method, read.route, read.request_id) == ("read", "GET", URL + "/{patient_id}", generated)
    for ev in (create, read):
        assert (str(ev.user_id), ev.username, ev.role) == (me["id"], me["username"], "front_desk")
        assert ev.entity == "patients" and ev.entity_id == str(patient_id)
        assert ev.client_addr == "testclient" and before <= ev.occurred_at <= datetime.now(UTC)
    assert create.request_id == "req-create-1"


def test_denied_attempts_are_audited_in_their_own_transaction(client, auth, make, db):
    home, other = make.facility(), make.facility()
    theirs = make.patient(other)
    scoped = auth("front_desk", facilities=[home])
    ghost = uuid.uuid4()
    cases = [  # (headers, method, path, status, (entity, entity id, patient id) recorded, user recorded)
        ({}, "GET", f"{URL}/{theirs.id}", 401, ("patients", theirs.id, theirs.id), False),
        ({}, "GET", f"{URL}/Jane Doe", 401, ("patients", None, None), False),  # typed text is not kept
        (auth("executive"), "GET", f"{URL}/{theirs.id}", 403, ("patients", theirs.id, theirs.id), True),
        (auth("analyst"), "POST", URL, 403, ("patients", None, None), True),
        (scoped, "GET", f"{URL}/{theirs.id}", 404, ("patients", theirs.id, theirs.id), True),
        (scoped, "PATCH", f"{URL}/{theirs.id}", 404, ("patients", theirs.id, theirs.id), True),
        (scoped, "PATCH", f"{URL}/{theirs.id}/coverages/{ghost}", 404, ("coverages", ghost, theirs.id), True),
        (scoped, "GET", f"{URL}/{theirs.id}/nothing-here", 404, ("patients", None, None), False),
    ]
    for i, (headers, method, path, status, target, with_user) in enumerate(cases):
        body = {"POST": patient_body(home), "PATCH": {"group_number": "G2"} if "coverages" in path else
                {"phone": "555-123-4567"}}.get(method)
        r = client.request(method, path, headers={**headers, "X-Request-ID": f"deny-{i}"}, json=body)
        assert r.status_code == status, (path, r.text)
        ev = events(db, action="denied")[-1]
        assert (ev.status_code, ev.method, ev.request_id) == (status, method, f"deny-{i}")
        assert (ev.entity, ev.entity_id, ev.patient_id) == (target[0], target[1] and str(target[1]), target[2])
        assert (ev.user_id is not None) == with_user and (ev.role is not None) == with_user
        assert ev.route.startswith(URL) and str(theirs.id) not in ev.route  # a template, never the raw path
    assert events(db, action="denied")[-1].route == URL + "/*"  # unmatched: no raw path
    assert [e.action for e in events(db)] == ["denied"] * len(cases)  # the denied PATCHes left no update event
    assert audit.verify(db).ok


def test_non_phi_denials_are_not_audited(client, auth, db):
    assert client.get("/api/v1/admin/users", headers=auth("biller")).status_code == 403
    assert client.get("/api/v1/facilities").status_code == 401
    assert events(db) == []


def test_sign_ins_are_audited_with_failures(client, make, db):
    user = make.user("biller")
    client.post("/api/v1/auth/token", data={"username": user.username, "password": "wrong-password-1"})
    client.post("/api/v1/auth/token", data={"username": user.username, "password": "correct-horse-9"})
    failed, ok = events(db)
    assert (failed.action, failed.status_code, failed.username, failed.user_id) == ("login_failed", 401,
                                                                                     user.username, None)
    assert (ok.action, ok.status_code, ok.user_id, ok.role) == ("login", 200, user.id, "biller")


def _chain(db, n: int) -> None:
    for i in range(n):
        audit.record(db, action="read", route=URL + "/{patient_id}", method="GET", status_code=200,
                     username=f"user{i}", role="biller", patient_id=uuid.uuid4(), entity="patients")
    db.commit()


@pytest.fixture
def tamper(backend):
    """Runs SQL around the append-only trigger on PostgreSQL, as a table owner could."""
    def run(sql: str, **params) -> None:
        with backend.engine.begin() as conn:
            if backend.name == "postgres":
                conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
            conn.execute(text(sql), params)
            if backend.name == "postgres":
                conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    return run


def test_chain_links_every_event_in_seq_order(db):
    _chain(db, 5)
    rows = events(db)
    assert [e.seq for e in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    result = audit.verify(db)
    assert result.ok and result.events == 5 and (result.head_seq, result.head_hash) == (5, rows[-1].hash)


@pytest.mark.parametrize("attack, broken_seq, problem", [
    ("UPDATE audit_events SET username = 'someone-else' WHERE seq = 3", 3, "edited"),
    ("UPDATE audit_events SET patient_id = NULL WHERE seq = 2", 2, "edited"),
    ("UPDATE audit_events SET status_code = 403 WHERE seq = 6", 6, "edited"),
    ("DELETE FROM audit_events WHERE seq = 4", 4, "missing"),
    ("UPDATE audit_events SET seq = seq + 10 WHERE seq = 5", 5, "missing"),  # moved out of place
])
def test_verify_finds_the_first_edited_or_deleted_event(db, tamper, attack, broken_seq, problem):
    _chain(db, 6)
    assert audit.verify(db).ok
    tamper(attack)
    result = audit.verify(db)
    assert (result.ok, result.broken_seq) == (False, broken_seq) and problem in result.problem
    assert result.events == broken_seq - 1


def test_verify_finds_an_inserted_event(db, tamper):
    """A forged event with a well-formed hash of its own still cannot link into the chain."""
    _chain(db, 3)
    first = events(db)[0]
    forged = AuditEvent(seq=4, occurred_at=datetime.now(UTC), action="read", route="/x", method="GET",
                        status_code=200, username="intruder", prev_hash=first.hash)  # claims to follow seq 1
    forged.hash = audit.event_hash(forged)
    tamper("INSERT INTO audit_events (seq, occurred_at, username, action, route, method, status_code, prev_hash, "
           "hash) VALUES (4, :at, 'intruder', 'read', '/x', 'GET', 200, :prev, :hash)",
           at=forged.occurred_at.replace(tzinfo=None), prev=forged.prev_hash, hash=forged.hash)
    result = audit.verify(db)
    assert (result.ok, result.broken_seq, result.events) == (False, 4, 3) and "inserted" in result.problem


def test_rewritten_chain_and_truncated_tail_caught_by_anchor(db, tamper):
    _chain(db, 4)
    head = audit.verify(db)
    tamper("DELETE FROM audit_events WHERE seq = 4")  # a clean tail cut: the chain alone is still consistent
    assert audit.verify(db).ok
    result = audit.verify(db, anchor=(head.head_seq, head.head_hash))
    assert not result.ok and result.broken_seq == 4


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # SQLite: the chain is the only guard
def test_postgres_rejects_update_and_delete_of_audit_events(db, backend):
    _chain(db, 1)
    for sql in ("UPDATE audit_events SET username = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), backend.engine.begin() as conn:
            conn.execute(text(sql))
    assert len(events(db)) == 1


def test_concurrent_appends_form_one_chain(backend, db):
    """Writers racing on the head: without the chain lock two would read the same head and fork it."""
    factory = session_factory(backend.engine)
    start = threading.Barrier(4)
    errors = []

    def writer(k: int) -> None:
        try:
            start.wait()
            for i in range(10):
                with factory() as session:
                    audit.record(session, action="read", route="/x", method="GET", status_code=200,
                                 username=f"w{k}-{i}")
                    session.flush()  # take the lock, then hold it across a little more work
                    session.execute(select(AuditEvent.seq).limit(1))
                    session.commit()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = audit.verify(db)
    assert result.ok and result.events == 40 and result.head_seq == 40


def test_admin_audit_log_filters_and_pages(client, admin, auth, make, db):
    facility = make.facility()
    a, b = make.patient(facility), make.patient(facility)
    front = auth("front_desk")
    for patient in (a, b, a):
        client.get(f"{URL}/{patient.id}", headers=front)
    client.get(f"{URL}/{a.id}", headers=auth("executive"))  # denied
    front_id = client.get("/api/v1/auth/me", headers=front).json()["id"]
    log = "/api/v1/admin/audit-log"

    def get(**params):
        r = client.get(log, params=params, headers=admin)
        assert r.status_code == 200, r.text
        return r.json()

    assert get(patient_id=str(a.id))["total"] == 3
    assert get(patient_id=str(a.id), user_id=front_id)["total"] == 2
    assert get(action="denied")["total"] == 1
    page = get(limit=2, offset=0)
    assert page["total"] == 4 and [e["seq"] for e in page["items"]] == [4, 3]  # newest first
    now = datetime.now(UTC)
    assert get(date_from=(now - timedelta(minutes=5)).isoformat(), date_to=(now + timedelta(minutes=5)).isoformat(),
               action="read")["total"] == 3
    assert get(date_from=(now + timedelta(minutes=5)).isoformat())["total"] == 0
    assert client.get(log, params={"date_from": "2026-01-01T00:00:00"}, headers=admin).status_code == 422  # naive
    for role in ("front_desk", "biller", "physician", "executive", "analyst"):
        assert client.get(log, headers=auth(role, provider=make.provider([facility]) if role == "physician"
                                            else None)).status_code == 403


def test_pms_audit_verify_cli(backend, db, tamper, monkeypatch):
    from ops_api.db import get_engine
    from pms.settings import get_settings

    _chain(db, 3)
    monkeypatch.setenv("DATABASE_URL", backend.url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        runner = CliRunner()
        ok = runner.invoke(pms_cli, ["audit", "verify"])
        assert ok.exit_code == 0 and "3 events" in ok.output, ok.output
        head = ok.output.split("head ")[1].split()[0].replace("\n", "")
        assert runner.invoke(pms_cli, ["audit", "verify", "--anchor", head]).exit_code == 0
        tamper("UPDATE audit_events SET role = 'admin' WHERE seq = 2")
        broken = runner.invoke(pms_cli, ["audit", "verify"])
        assert broken.exit_code == 1 and "seq 2" in broken.output, broken.output
        assert runner.invoke(pms_cli, ["audit", "verify", "--anchor", "nonsense"]).exit_code == 2
    finally:
        get_engine().dispose()
        monkeypatch.undo()
        get_settings.cache_clear()
        get_engine.cache_clear()
