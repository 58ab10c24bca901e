"""Encounters and charges over HTTP, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ops_api.models import AuditEvent, Encounter, EncounterDiagnosis, EncounterLine, OutboxEvent

URL = "/api/v1/encounters"


def body(p, **kw) -> dict:
    return {"patient_id": str(p.patient.id), "provider_id": str(p.provider.id), "facility_id": str(p.facility.id),
            "date_of_service": "2025-03-10", "diagnosis_codes": ["e119", "I10"],
            "lines": [{"procedure_code": "99213", "units": 2, "diagnosis_pointers": [1, 2]},
                      {"procedure_code": "81002", "modifiers": ["qw"], "charge_amount": "12.50",
                       "diagnosis_pointers": [1]}], **kw}


def counts(db) -> tuple[int, ...]:
    return tuple(db.scalar(select(func.count()).select_from(m))
                 for m in (Encounter, EncounterLine, EncounterDiagnosis, OutboxEvent))


@pytest.fixture
def make(make):
    return make.token_only()


@pytest.fixture
def admin(make):
    return make.headers()


@pytest.fixture
def p(make):
    practice = make.practice()
    make.fee("99213", "150.00", effective_from=date(2020, 1, 1))
    make.fee("99213", "175.00", effective_from=date(2025, 6, 1))
    return practice


def test_create_prices_from_the_fee_in_force_and_normalizes_codes(client, admin, p, db):
    r = client.post(URL, json=body(p), headers=admin)
    assert r.status_code == 201, r.text
    enc = r.json()
    assert enc["diagnosis_codes"] == ["E11.9", "I10"]
    assert [(ln["procedure_code"], ln["modifiers"], ln["charge_amount"]) for ln in enc["lines"]] == [
        ("99213", [], "300.00"), ("81002", ["QW"], "12.50")]  # 2 units × the March fee; the given amount
    assert enc["total_charge"] == "312.50"
    assert client.get(f"{URL}/{enc['id']}", headers=admin).json() == enc
    later = client.post(URL, json=body(p, date_of_service="2025-07-01"), headers=admin).json()
    assert later["lines"][0]["charge_amount"] == "350.00"  # the June fee
    entities = set(db.scalars(select(OutboxEvent.entity)))
    assert {"encounters", "encounter_lines", "encounter_diagnoses"} <= entities
    audit = db.scalars(select(AuditEvent).where(AuditEvent.entity == "encounters", AuditEvent.action == "create")).all()
    assert {str(a.patient_id) for a in audit} == {str(p.patient.id)}


def test_every_problem_in_one_422_and_nothing_written(client, admin, make, p, db):
    stranger = make.provider([make.facility()])
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    bad = body(p, provider_id=str(stranger.id), date_of_service=future, diagnosis_codes=["E11", "XYZ", "I10", "i10"],
               lines=[{"procedure_code": "9921", "modifiers": ["2", "25"], "diagnosis_pointers": [1, 5]},
                      {"procedure_code": "99999", "diagnosis_pointers": [3, 3]}])
    before = counts(db)
    r = client.post(URL, json=bad, headers=admin)
    assert r.status_code == 422, r.text
    found = {tuple(d["loc"]): d["msg"] for d in r.json()["detail"]}
    assert "category" in found[("body", "diagnosis_codes", 0)]
    assert "not an ICD-10-CM code" in found[("body", "diagnosis_codes", 1)]
    assert found[("body", "diagnosis_codes")] == "diagnosis I10 is listed twice"
    assert "not a CPT" in found[("body", "lines", 0, "procedure_code")]
    assert "modifier '2'" in found[("body", "lines", 0, "modifiers", 0)]
    assert "outside 1..4" in found[("body", "lines", 0, "diagnosis_pointers", 1)]
    assert "no fee for 99999" in found[("body", "lines", 1, "charge_amount")]
    assert "repeated" in found[("body", "lines", 1, "diagnosis_pointers")]
    assert "in the future" in found[("body", "date_of_service")]
    assert "does not work at this facility" in found[("body", "provider_id")]
    assert len(r.json()["detail"]) == 10
    assert counts(db) == before


MALFORMED = [
    {"diagnosis_codes": []},
    {"diagnosis_codes": ["I10"] * 13},
    {"lines": []},
    {"lines": [{"procedure_code": "99213", "units": 0, "diagnosis_pointers": [1]}]},
    {"lines": [{"procedure_code": "99213", "units": 1000, "diagnosis_pointers": [1]}]},
    {"lines": [{"procedure_code": "99213", "diagnosis_pointers": []}]},
    {"lines": [{"procedure_code": "99213", "diagnosis_pointers": [1, 2, 1, 2, 1]}]},
    {"lines": [{"procedure_code": "99213", "modifiers": ["25", "59", "GT", "95", "XU"], "diagnosis_pointers": [1]}]},
    {"lines": [{"procedure_code": "99213", "charge_amount": "0", "diagnosis_pointers": [1]}]},
    {"lines": [{"procedure_code": "99213", "charge_amount": "10.001", "diagnosis_pointers": [1]}]},
    {"lines": [{"procedure_code": "99213", "charge_amount": "10000000.00", "diagnosis_pointers": [1]}]},
    {"lines": [{"procedure_code": "99213", "charge_amount": "12.50", "diagnosis_pointers": [1], "x": 1}]},
    {"date_of_service": "2025-02-30"},
    {"patient_id": "not-a-uuid"},
    {"unexpected": 1},
]


def test_malformed_bodies_are_422_per_field(client, admin, p, db):
    before = counts(db)
    for change in MALFORMED:
        r = client.post(URL, json=body(p, **change), headers=admin)
        assert r.status_code == 422, (change, r.text)
        assert r.json()["detail"][0]["loc"][0] == "body"
    assert counts(db) == before


def test_appointment_rules(client, admin, make, p):
    scheduled = make.appointment(p.patient, p.provider, p.facility, status="scheduled")
    other_patient = make.appointment(make.patient(p.facility), p.provider, p.facility,
                                     starts_at=datetime(2025, 3, 10, 18, tzinfo=UTC))
    late_evening = make.appointment(p.patient, p.provider, p.facility,  # 01:30 UTC is still the 9th in New York
                                    starts_at=datetime(2025, 3, 10, 1, 30, tzinfo=UTC))
    visit = make.appointment(p.patient, p.provider, p.facility, starts_at=datetime(2025, 3, 10, 20, tzinfo=UTC))
    cases = [(scheduled, "only a checked_in or completed visit"), (other_patient, "patient_id is not the encounter's"),
             (late_evening, "not the appointment's date")]
    for appointment, message in cases:
        r = client.post(URL, json=body(p, appointment_id=str(appointment.id)), headers=admin)
        assert r.status_code == 422 and message in r.text, r.text
    r = client.post(URL, json=body(p, appointment_id="00000000-0000-0000-0000-000000000000"), headers=admin)
    assert r.status_code == 422 and "unknown appointment" in r.text
    first = client.post(URL, json=body(p, appointment_id=str(visit.id)), headers=admin)
    assert first.status_code == 201 and first.json()["appointment_id"] == str(visit.id)
    again = client.post(URL, json=body(p, appointment_id=str(visit.id)), headers=admin)
    assert again.status_code == 409


def test_physicians_charge_and_see_only_their_own_visits(client, make, p):
    colleague = make.provider([p.facility])
    doctor = make.staff("physician", provider=p.provider)
    own = client.post(URL, json=body(p), headers=doctor)
    assert own.status_code == 201, own.text
    r = client.post(URL, json=body(p, provider_id=str(colleague.id)), headers=doctor)
    assert r.status_code == 403
    theirs = make.encounter(p.patient, colleague)
    assert client.get(f"{URL}/{theirs.id}", headers=doctor).status_code == 404
    listed = client.get(URL, headers=doctor).json()
    assert [e["id"] for e in listed["items"]] == [own.json()["id"]] and listed["total"] == 1
    assert client.get(f"{URL}/{theirs.id}", headers=make.staff("biller")).status_code == 200
    for role in ("front_desk", "executive", "analyst"):
        assert client.get(URL, headers=make.staff(role)).status_code == 403


def test_list_filters_and_facility_scope(client, make, p):
    elsewhere = make.practice()
    mine_march = make.encounter(p.patient, p.provider, date_of_service=date(2025, 3, 10))
    mine_may = make.encounter(p.patient, p.provider, date_of_service=date(2025, 5, 2))
    theirs = make.encounter(elsewhere.patient, elsewhere.provider)
    biller = make.staff("biller", facilities=[p.facility])
    ids = lambda q: [e["id"] for e in client.get(f"{URL}?{q}", headers=biller).json()["items"]]  # noqa: E731
    assert ids("") == [str(mine_may.id), str(mine_march.id)]
    assert ids("date_from=2025-04-01") == [str(mine_may.id)]
    assert ids("date_to=2025-03-10") == [str(mine_march.id)]
    assert ids(f"patient_id={elsewhere.patient.id}") == []
    assert client.get(f"{URL}/{theirs.id}", headers=biller).status_code == 404
    r = client.post(URL, json=body(elsewhere), headers=biller)
    assert r.status_code == 422 and "unknown facility" in r.text
