"""The outbox: every change of a replicated entity appends an event in the same transaction."""

import json

from sqlalchemy import select

from ops_api.models import Facility, OutboxEvent, Patient
from ops_api.schemas.org import FacilityCreate
from ops_api.services.org import create_facility


def events(db, entity=None):
    query = select(OutboxEvent).order_by(OutboxEvent.seq)
    if entity:
        query = query.where(OutboxEvent.entity == entity)
    return db.scalars(query).all()


def test_insert_update_delete_each_emit_one_event_in_order(db):
    facility = create_facility(db, FacilityCreate(name="North", timezone="America/Denver"))
    db.commit()
    facility.name = "North Clinic"
    db.commit()
    facility.name = "North Clinic"  # no net change: no event
    db.commit()
    db.delete(facility)
    db.commit()
    got = events(db, "facilities")
    assert [e.op for e in got] == ["upsert", "upsert", "delete"]
    assert [json.loads(e.payload)["name"] for e in got] == ["North", "North Clinic", "North Clinic"]
    assert got[0].seq < got[1].seq < got[2].seq
    assert all(e.entity_id == str(facility.id) for e in got)


def test_payload_keeps_money_and_time_exact(db, make):
    patient = make.patient(make.facility())
    payload = json.loads(events(db, "patients")[-1].payload)
    assert payload["id"] == str(patient.id)
    assert payload["date_of_birth"] == "1980-01-01"
    assert payload["created_at"].endswith("+00:00")


def test_rolled_back_write_leaves_no_event(db):
    before = len(events(db))
    facility = Facility(name="Ghost", timezone="UTC", pos_code="11")
    db.add(facility)
    db.flush()  # the event row is written inside the transaction ...
    assert len(events(db)) == before + 1
    db.rollback()  # ... and disappears with it
    assert len(events(db)) == before
    assert db.get(Facility, facility.id) is None


def test_failed_request_leaves_no_event(client, admin, make, db):
    facility = make.facility()
    before = len(events(db))
    r = client.post("/api/v1/patients", headers=admin, json={
        "first_name": "A", "last_name": "B", "date_of_birth": "1990-01-01", "sex": "F",
        "facility_id": str(facility.id), "email": "bad"})
    assert r.status_code == 422
    assert len(events(db)) == before
    assert db.scalars(select(Patient)).all() == []
