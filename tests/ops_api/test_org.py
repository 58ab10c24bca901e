"""Facilities, providers and their schedules, payers and the fee schedule over HTTP, on SQLite and PostgreSQL."""

from sqlalchemy import func, select

from ops_api.models import OutboxEvent, Payer, Provider, ProviderSchedule, ProviderTimeOff
from pms.enums import Role
from tests.ops_api.factories import valid_npi

API = "/api/v1"
UNKNOWN = "00000000-0000-0000-0000-000000000000"



def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def assert_422(r, field: str) -> None:
    assert r.status_code == 422, r.text
    assert field in [d["loc"][-1] for d in r.json()["detail"]], r.json()


# --- facilities ------------------------------------------------------------------------------------------

def test_facility_create_read_update(client, admin, db):
    r = client.post(f"{API}/facilities", headers=admin, json={
        "name": " Harbor Clinic ", "timezone": "America/Chicago",
        "address": {"line1": "1 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"}})
    assert r.status_code == 201, r.text
    facility = r.json()
    assert (facility["name"], facility["timezone"], facility["pos_code"]) == ("Harbor Clinic", "America/Chicago", "11")
    assert client.get(f"{API}/facilities/{facility['id']}", headers=admin).json() == facility
    r = client.patch(f"{API}/facilities/{facility['id']}", json={"name": "Harbor", "pos_code": "22"}, headers=admin)
    assert r.status_code == 200 and (r.json()["name"], r.json()["pos_code"]) == ("Harbor", "22")
    assert db.scalars(select(OutboxEvent.op).where(OutboxEvent.entity == "facilities")).all() == ["upsert", "upsert"]
    assert client.get(f"{API}/facilities/{UNKNOWN}", headers=admin).status_code == 404


def test_facility_bad_input_is_422_and_writes_nothing(client, admin, make, db):
    facility = make.facility()
    before = count(db, OutboxEvent)
    for body, field in [
        ({"name": "A", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "A", "timezone": "America"}, "timezone"),  # a tzdata directory: was a 500
        ({"name": "A", "timezone": "x" * 300}, "timezone"),  # too long a file name: was a 500
        ({"name": "A", "pos_code": "1"}, "pos_code"),
        ({"name": ""}, "name"),
        ({"name": "A", "address": {"line1": "x", "city": "y", "state": "Illinois", "postal_code": "62701"}}, "state"),
        ({"name": "A", "beds": 4}, "beds"),
    ]:
        assert_422(client.post(f"{API}/facilities", json=body, headers=admin), field)
    for body, field in [({"name": None}, "name"), ({"pos_code": None}, "pos_code"),  # nulls were 500s
                        ({"timezone": "UTC"}, "timezone")]:  # fixed: it would move every schedule template
        assert_422(client.patch(f"{API}/facilities/{facility.id}", json=body, headers=admin), field)
    assert count(db, OutboxEvent) == before


def test_facilities_are_scoped_and_paginated_stably(client, auth, make):
    same_name = [make.facility(name="Clinic") for _ in range(4)]
    outside = make.facility(name="Elsewhere")
    scoped = auth("front_desk", facilities=same_name)
    pages = [client.get(f"{API}/facilities?limit=1&offset={i}", headers=scoped).json() for i in range(4)]
    assert {p["total"] for p in pages} == {4}
    assert sorted(p["items"][0]["id"] for p in pages) == sorted(str(f.id) for f in same_name)  # ties broken by id
    assert client.get(f"{API}/facilities/{outside.id}", headers=scoped).status_code == 404
    r = client.patch(f"{API}/facilities/{outside.id}", json={"name": "X"}, headers=auth("admin", facilities=same_name))
    assert r.status_code == 404


# --- providers -------------------------------------------------------------------------------------------

def provider_body(facilities, n=901, **kw):
    return {"npi": valid_npi(n), "first_name": "Ana", "last_name": "Reyes", "specialty": "Pediatrics",
            "facility_ids": [str(f.id) for f in facilities], **kw}


def test_provider_create_duplicate_npi_and_update(client, admin, make, db):
    a, b = make.facility(), make.facility()
    r = client.post(f"{API}/providers", json=provider_body([a, a]), headers=admin)
    assert r.status_code == 201, r.text
    provider = r.json()
    assert provider["facility_ids"] == [str(a.id)] and provider["active"] is True
    r = client.post(f"{API}/providers", json=provider_body([b], first_name="Other"), headers=admin)
    assert r.status_code == 409 and "NPI" in r.json()["detail"]
    r = client.patch(f"{API}/providers/{provider['id']}", json={"facility_ids": [str(b.id), str(a.id)],
                                                                "active": False}, headers=admin)
    assert r.status_code == 200 and set(r.json()["facility_ids"]) == {str(a.id), str(b.id)} and not r.json()["active"]
    assert client.get(f"{API}/providers/{provider['id']}", headers=admin).json() == r.json()
    r = client.patch(f"{API}/providers/{provider['id']}", json={"facility_ids": [str(b.id)]}, headers=admin)
    assert r.json()["facility_ids"] == [str(b.id)]
    assert count(db, Provider) == 1


def test_provider_bad_input_is_422_and_writes_nothing(client, admin, make, db):
    facility = make.facility()
    provider = make.provider([facility])
    before = count(db, OutboxEvent)
    bad_check_digit = valid_npi(902)[:-1] + str((int(valid_npi(902)[-1]) + 1) % 10)
    for body, field in [
        (provider_body([facility], npi=bad_check_digit), "npi"),
        (provider_body([facility], npi="123"), "npi"),
        (provider_body([]), "facility_ids"),
        ({**provider_body([facility]), "facility_ids": [UNKNOWN]}, "facility_ids"),
        (provider_body([facility], first_name=" "), "first_name"),
    ]:
        assert_422(client.post(f"{API}/providers", json=body, headers=admin), field)
    for body, field in [({"first_name": None}, "first_name"), ({"active": None}, "active"),  # nulls were 500s
                        ({"facility_ids": []}, "facility_ids"), ({"facility_ids": [UNKNOWN]}, "facility_ids"),
                        ({"npi": valid_npi(903)}, "npi")]:
        assert_422(client.patch(f"{API}/providers/{provider.id}", json=body, headers=admin), field)
    assert count(db, OutboxEvent) == before
    assert client.patch(f"{API}/providers/{UNKNOWN}", json={}, headers=admin).status_code == 404


def test_provider_list_filters_and_scope(client, auth, admin, make):
    north, south = make.facility(), make.facility()
    ana = make.provider([north], first_name="Ana", last_name="Reyes")
    ben = make.provider([south], first_name="Ben", last_name="Okafor", active=False)
    both = make.provider([north, south], first_name="Cy", last_name="Reyes")

    def ids(query, headers=admin):
        r = client.get(f"{API}/providers?{query}", headers=headers)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["items"]]

    assert ids("q=reyes") == [str(ana.id), str(both.id)]  # last name, then first name
    assert ids(f"q={ben.npi}") == [str(ben.id)]
    assert ids("active=false") == [str(ben.id)]
    assert set(ids(f"facility_id={south.id}")) == {str(ben.id), str(both.id)}
    north_desk = auth("front_desk", facilities=[north])
    assert set(ids("", north_desk)) == {str(ana.id), str(both.id)}
    assert client.get(f"{API}/providers/{ben.id}", headers=north_desk).status_code == 404


# --- schedules -------------------------------------------------------------------------------------------

def schedule_body(facility, **template):
    return {"templates": [{"weekday": 0, "start_time": "09:00", "end_time": "17:00", "facility_id": str(facility.id),
                           "effective_from": "2030-01-01", **template}],
            "time_off": [{"starts_at": "2030-02-01T00:00:00Z", "ends_at": "2030-02-08T00:00:00Z", "reason": "leave"}]}


def test_schedule_put_replaces_and_get_reads(client, admin, make, db):
    facility = make.facility()
    provider = make.provider([facility])
    url = f"{API}/providers/{provider.id}/schedule"
    r = client.put(url, json=schedule_body(facility), headers=admin)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["templates"][0]["start_time"] == "09:00:00" and first["time_off"][0]["reason"] == "leave"
    r = client.put(url, json=schedule_body(facility, weekday=2, start_time="08:00"), headers=admin)
    assert [t["weekday"] for t in r.json()["templates"]] == [2]
    assert client.get(url, headers=admin).json() == r.json()
    assert (count(db, ProviderSchedule), count(db, ProviderTimeOff)) == (1, 1)
    deleted = db.scalars(select(OutboxEvent.entity_id).where(OutboxEvent.op == "delete")).all()
    assert set(deleted) == {first["templates"][0]["id"], first["time_off"][0]["id"]}  # replicated removals


def test_schedule_bad_input_is_422_and_keeps_the_old_schedule(client, admin, make, db):
    facility = make.facility()
    provider = make.provider([facility])
    url = f"{API}/providers/{provider.id}/schedule"
    assert client.put(url, json=schedule_body(facility), headers=admin).status_code == 200
    before = count(db, OutboxEvent)
    stranger = make.facility()
    for body, field in [
        (schedule_body(facility, end_time="09:00"), "end_time"),
        (schedule_body(facility, weekday=7), "weekday"),
        (schedule_body(facility, start_time="09:00+02:00"), "start_time"),  # local wall time: was stored as is
        (schedule_body(facility, effective_to="2029-12-31"), "effective_to"),
        ({**schedule_body(facility), "time_off": [{"starts_at": "2030-02-02T00:00:00Z", "ends_at": "2030-02-01T00:00:00Z"}]},
         "ends_at"),
        (schedule_body(stranger), "facility_id"),  # the provider does not work there
        ({**schedule_body(facility), "time_off": [{"starts_at": "2030-02-01T00:00:00", "ends_at": "2030-02-02T00:00:00Z"}]},
         "starts_at"),
    ]:
        assert_422(client.put(url, json=body, headers=admin), field)
    assert count(db, OutboxEvent) == before + 1  # only the facility made inside the loop
    assert len(client.get(url, headers=admin).json()["templates"]) == 1


# --- payers and fee schedule -----------------------------------------------------------------------------

def test_payers(client, auth, admin, db):
    biller = auth("biller")
    r = client.post(f"{API}/payers", json={"name": "Acme Health", "edi_payer_id": "ACME1", "kind": "commercial"},
                    headers=biller)
    assert r.status_code == 201, r.text
    acme = r.json()
    client.post(f"{API}/payers", json={"name": "Medicare Part B", "kind": "medicare"}, headers=admin)
    assert client.get(f"{API}/payers/{acme['id']}", headers=admin).json() == acme
    assert [p["name"] for p in client.get(f"{API}/payers?kind=medicare", headers=admin).json()["items"]] == \
        ["Medicare Part B"]
    assert client.get(f"{API}/payers?q=%25", headers=admin).json()["total"] == 0  # LIKE wildcards are literal
    assert client.get(f"{API}/payers?q=acme", headers=admin).json()["total"] == 1
    assert client.get(f"{API}/payers/{UNKNOWN}", headers=admin).status_code == 404
    before = count(db, Payer)
    assert_422(client.post(f"{API}/payers", json={"name": "X", "kind": "barter"}, headers=admin), "kind")
    assert_422(client.post(f"{API}/payers", json={"name": "X", "kind": "other", "edi_payer_id": "a b"},
                           headers=admin), "edi_payer_id")
    assert count(db, Payer) == before


def test_fee_schedule_upserts_by_code_and_date(client, admin, db):
    body = {"procedure_code": "99213", "description": "Office visit, est.", "charge_amount": "125.5",
            "work_rvu": "1.30", "effective_from": "2030-01-01"}
    first = client.put(f"{API}/fee-schedule", json=body, headers=admin)
    assert first.status_code == 200, first.text
    assert (first.json()["charge_amount"], first.json()["work_rvu"]) == ("125.50", "1.30")
    again = client.put(f"{API}/fee-schedule", json={**body, "charge_amount": "130.00"}, headers=admin).json()
    assert again["id"] == first.json()["id"] and again["charge_amount"] == "130.00"
    client.put(f"{API}/fee-schedule", json={**body, "effective_from": "2031-01-01"}, headers=admin)
    listed = client.get(f"{API}/fee-schedule?procedure_code=99213", headers=admin).json()
    assert [f["effective_from"] for f in listed["items"]] == ["2030-01-01", "2031-01-01"]
    before = count(db, OutboxEvent)
    for bad, field in [({"procedure_code": "9921"}, "procedure_code"), ({"charge_amount": "0"}, "charge_amount"),
                       ({"charge_amount": "1.005"}, "charge_amount"), ({"work_rvu": "-1"}, "work_rvu")]:
        assert_422(client.put(f"{API}/fee-schedule", json={**body, **bad}, headers=admin), field)
    assert count(db, OutboxEvent) == before


# --- roles -----------------------------------------------------------------------------------------------

EVERYONE = set(Role)
STAFF = {Role.admin, Role.front_desk, Role.biller, Role.physician}
# API.md: admin runs the organization; billers own payers and fees; executives and analysts see names for
# report filters (facilities, providers, payers) but no schedules.
EXPECTED = {
    ("GET", "facilities"): EVERYONE, ("POST", "facilities"): {Role.admin},
    ("GET", "providers"): EVERYONE, ("POST", "providers"): {Role.admin},
    ("GET", "schedule"): STAFF, ("PUT", "schedule"): {Role.admin},
    ("GET", "payers"): EVERYONE, ("POST", "payers"): {Role.admin, Role.biller},
    ("GET", "fee-schedule"): STAFF, ("PUT", "fee-schedule"): {Role.admin, Role.biller},
}


def test_role_matrix(client, auth, make):
    facility = make.facility()
    provider = make.provider([facility])
    n = iter(range(950, 999))
    requests = {
        ("GET", "facilities"): lambda: ("GET", "/facilities", None),
        ("POST", "facilities"): lambda: ("POST", "/facilities", {"name": "New"}),
        ("GET", "providers"): lambda: ("GET", "/providers", None),
        ("POST", "providers"): lambda: ("POST", "/providers", provider_body([facility], n=next(n))),
        ("GET", "schedule"): lambda: ("GET", f"/providers/{provider.id}/schedule", None),
        ("PUT", "schedule"): lambda: ("PUT", f"/providers/{provider.id}/schedule", schedule_body(facility)),
        ("GET", "payers"): lambda: ("GET", "/payers", None),
        ("POST", "payers"): lambda: ("POST", "/payers", {"name": "P", "kind": "other"}),
        ("GET", "fee-schedule"): lambda: ("GET", "/fee-schedule", None),
        ("PUT", "fee-schedule"): lambda: ("PUT", "/fee-schedule", {
            "procedure_code": "99213", "description": "d", "charge_amount": "1.00", "work_rvu": "1",
            "effective_from": "2030-01-01"}),
    }
    for role in Role:
        headers = auth(role.value, provider=provider if role == Role.physician else None)
        for key, build in requests.items():
            method, path, body = build()
            r = client.request(method, f"{API}{path}", json=body, headers=headers)
            assert (r.status_code < 300) == (role in EXPECTED[key]), (role, key, r.status_code, r.text)
            assert r.status_code in (200, 201, 403), (role, key, r.text)
    assert client.get(f"{API}/facilities").status_code == 401
