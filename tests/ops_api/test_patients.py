"""Patients and coverages over HTTP, on SQLite and PostgreSQL."""

from sqlalchemy import func, select

from ops_api.models import AuditEvent, OutboxEvent, Patient

URL = "/api/v1/patients"


def patient_body(facility, **kw):
    return {"first_name": "Maria", "last_name": "Gomez", "date_of_birth": "1975-04-12", "sex": "F",
            "phone": "555-201-3344", "facility_id": str(facility.id), **kw}


def test_create_assigns_mrn_and_writes_outbox_and_audit(client, admin, make, db):
    facility = make.facility()
    r = client.post(URL, json=patient_body(facility), headers=admin)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["mrn"].startswith("MRN") and body["first_name"] == "Maria"
    events = db.scalars(select(OutboxEvent).where(OutboxEvent.entity == "patients")).all()
    assert [e.entity_id for e in events] == [body["id"]]
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "create")).one()
    assert str(audit.patient_id) == body["id"] and audit.route == "/api/v1/patients"


def test_duplicate_patient_409_with_existing_id_unless_allowed(client, admin, make, db):
    facility = make.facility()
    first = client.post(URL, json=patient_body(facility), headers=admin).json()
    r = client.post(URL, json=patient_body(facility, first_name="MARIA", phone=None), headers=admin)
    assert r.status_code == 409
    assert r.json()["existing_id"] == first["id"]
    assert db.scalar(select(func.count()).select_from(Patient)) == 1
    r = client.post(f"{URL}?allow_duplicate=true", json=patient_body(facility), headers=admin)
    assert r.status_code == 201 and r.json()["mrn"] != first["mrn"]


def test_bad_input_is_422_per_field_and_writes_nothing(client, admin, make, db):
    facility = make.facility()
    cases = [
        patient_body(facility, date_of_birth="2999-01-01"),
        patient_body(facility, sex="Q"),
        patient_body(facility, first_name=""),
        patient_body(facility, phone="call me"),
        patient_body(facility, email="not-an-email"),
        patient_body(facility, unexpected="x"),
        {k: v for k, v in patient_body(facility).items() if k != "last_name"},
    ]
    for body in cases:
        r = client.post(URL, json=body, headers=admin)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"][0] == "body"
    assert db.scalar(select(func.count()).select_from(Patient)) == 0
    assert db.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.entity == "patients")) == 0


def test_search_by_name_mrn_phone_and_pagination(client, admin, make):
    facility = make.facility()
    for i in range(7):
        make.patient(facility, last_name=f"Nguyen{i}", phone=f"555-300-00{i:02d}")
    target = make.patient(facility, first_name="Zed", last_name="Quill", phone="(555) 777-1234")
    assert client.get(f"{URL}?q=quill", headers=admin).json()["items"][0]["id"] == str(target.id)
    assert client.get(f"{URL}?q=zed qu", headers=admin).json()["total"] == 1
    assert client.get(f"{URL}?q={target.mrn}", headers=admin).json()["total"] == 1
    assert client.get(f"{URL}?q=5557771234", headers=admin).json()["total"] == 1
    assert client.get(f"{URL}?q=%25", headers=admin).json()["total"] == 0  # LIKE wildcards are literal
    page = client.get(f"{URL}?q=nguyen&limit=3&offset=3", headers=admin).json()
    assert page["total"] == 7 and len(page["items"]) == 3
    assert client.get(f"{URL}?limit=501", headers=admin).status_code == 422
    assert client.get(f"{URL}?offset=-1", headers=admin).status_code == 422


def test_other_facilities_patients_are_404(client, auth, make):
    home, other = make.facility(), make.facility()
    mine, theirs = make.patient(home), make.patient(other)
    headers = auth("front_desk", facilities=[home])
    assert client.get(f"{URL}/{mine.id}", headers=headers).status_code == 200
    assert client.get(f"{URL}/{theirs.id}", headers=headers).status_code == 404
    listed = {p["id"] for p in client.get(URL, headers=headers).json()["items"]}
    assert listed == {str(mine.id)}
    r = client.post(URL, json=patient_body(other), headers=headers)
    assert r.status_code == 422


def test_update_patient_and_null_required_field(client, admin, make):
    patient = make.patient(make.facility())
    r = client.patch(f"{URL}/{patient.id}", json={"phone": "555-999-0000"}, headers=admin)
    assert r.status_code == 200 and r.json()["phone"] == "555-999-0000"
    r = client.patch(f"{URL}/{patient.id}", json={"last_name": None}, headers=admin)
    assert r.status_code == 422
    assert client.patch(f"{URL}/00000000-0000-0000-0000-000000000000", json={}, headers=admin).status_code == 404


def test_coverages(client, admin, make):
    facility = make.facility()
    patient, payer = make.patient(facility), make.payer()
    body = {"payer_id": str(payer.id), "member_id": "XYZ123456", "group_number": "G1", "rank": "primary",
            "effective_from": "2024-01-01"}
    r = client.post(f"{URL}/{patient.id}/coverages", json=body, headers=admin)
    assert r.status_code == 201, r.text
    cov = r.json()
    assert client.get(f"{URL}/{patient.id}/coverages", headers=admin).json()[0]["id"] == cov["id"]
    bad = client.post(f"{URL}/{patient.id}/coverages", json={**body, "effective_to": "2023-01-01"}, headers=admin)
    assert bad.status_code == 422
    unknown = client.post(f"{URL}/{patient.id}/coverages",
                          json={**body, "payer_id": "00000000-0000-0000-0000-000000000000"}, headers=admin)
    assert unknown.status_code == 422
    r = client.patch(f"{URL}/{patient.id}/coverages/{cov['id']}", json={"effective_to": "2025-12-31"}, headers=admin)
    assert r.status_code == 200 and r.json()["effective_to"] == "2025-12-31"
