"""Appointments over HTTP, on SQLite and PostgreSQL: booking rules, the status machine, roles, races."""

import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ops_api.models import Appointment, AppointmentStatusEvent, AuditEvent, OutboxEvent, Provider
from ops_api.services.appointments import lock_provider_calendar
from pms.enums import AppointmentStatus, Role

URL = "/api/v1/appointments"
MONDAY = datetime(2030, 1, 7, tzinfo=UTC)  # a winter Monday: America/Los_Angeles is UTC-8, New York UTC-5



def at(hour: int, minute: int = 0, day: datetime = MONDAY) -> datetime:
    return day + timedelta(hours=hour, minutes=minute)


@dataclass
class Clinic:
    facility: object
    provider: object
    patient: object

    def body(self, start: datetime | None = None, minutes: int = 30, **kw) -> dict:
        start = start or at(15)
        return {"patient_id": str(self.patient.id), "provider_id": str(self.provider.id),
                "facility_id": str(self.facility.id), "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(minutes=minutes)).isoformat(), "appointment_type": "follow_up",
                "reason": "knee pain", **kw}


@pytest.fixture
def clinic(make) -> Clinic:
    """A New York clinic whose provider works every day, all day (so only the rule under test can refuse)."""
    facility = make.facility(timezone="America/New_York")
    provider = make.provider([facility])
    make.schedule(provider, facility)
    return Clinic(facility, provider, make.patient(facility))


def book(client, headers, body) -> dict:
    r = client.post(URL, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def move(client, headers, appointment_id, status):
    return client.post(f"{URL}/{appointment_id}/status", json={"status": status}, headers=headers)


def history(db, appointment_id) -> list[tuple[str | None, str]]:
    rows = db.execute(select(AppointmentStatusEvent.from_status, AppointmentStatusEvent.to_status)
                      .where(AppointmentStatusEvent.appointment_id == uuid.UUID(appointment_id))
                      .order_by(AppointmentStatusEvent.occurred_at)).all()
    return [tuple(row) for row in rows]


def counts(db) -> dict:
    """Everything a failed request must leave untouched."""
    return {model.__name__: db.scalar(select(func.count()).select_from(model))
            for model in (Appointment, AppointmentStatusEvent, OutboxEvent, AuditEvent)}


# --- booking ---------------------------------------------------------------------------------------------

def test_book_sets_server_fields_history_outbox_and_audit(client, admin, clinic, db):
    local = datetime(2030, 1, 7, 10, 0).isoformat() + "-05:00"  # 15:00Z
    r = client.post(URL, json={**clinic.body(), "starts_at": local, "ends_at": "2030-01-07T15:45:00Z"}, headers=admin)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["starts_at"] == "2030-01-07T15:00:00Z" and body["ends_at"] == "2030-01-07T15:45:00Z"
    assert body["status"] == "scheduled" and body["reason"] == "knee pain"
    assert body["booked_at"] and body["status_changed_at"] == body["booked_at"]
    assert body["reminder_sent_at"] is None and body["rescheduled_from_id"] is None
    assert body["no_show_probability"] is None
    event = db.scalars(select(AppointmentStatusEvent)).one()
    assert (str(event.appointment_id), event.from_status, event.to_status) == (body["id"], None, "scheduled")
    outbox = {e.entity for e in db.scalars(select(OutboxEvent).where(OutboxEvent.entity_id.in_(
        [body["id"], str(event.id)])))}
    assert outbox == {"appointments", "appointment_status_events"}
    audit = db.scalars(select(AuditEvent).where(AuditEvent.entity == "appointments")).one()
    assert (audit.action, audit.entity_id, audit.patient_id, audit.status_code) == \
        ("create", body["id"], clinic.patient.id, 201)
    assert client.get(f"{URL}/{body['id']}", headers=admin).json() == body


def test_patient_of_another_facility_can_be_seen_here(client, admin, clinic, make):
    elsewhere = make.patient(make.facility())
    assert book(client, admin, clinic.body(patient_id=str(elsewhere.id)))["facility_id"] == str(clinic.facility.id)


def _bad_bodies(clinic, make) -> list[tuple[dict, set[str]]]:
    """(body, the fields the 422 must name)."""
    other = make.facility()
    inactive = make.provider([clinic.facility], active=False)
    unknown = "00000000-0000-0000-0000-000000000000"
    b = clinic.body()
    return [
        ({**b, "starts_at": "2030-01-07T15:00:00"}, {"starts_at"}),  # no offset
        ({**b, "ends_at": b["starts_at"]}, {"ends_at"}),
        ({**b, "ends_at": at(14).isoformat()}, {"ends_at"}),
        (clinic.body(minutes=8 * 60 + 1), {"ends_at"}),
        ({**b, "starts_at": "0001-01-01T00:00:00+05:00"}, {"starts_at"}),
        ({**b, "starts_at": "tomorrow"}, {"starts_at"}),
        ({**b, "appointment_type": " "}, {"appointment_type"}),
        ({**b, "appointment_type": "x" * 51}, {"appointment_type"}),
        ({**b, "reason": "x" * 501}, {"reason"}),
        ({**b, "booked_at": "2030-01-01T00:00:00Z"}, {"booked_at"}),  # server-set
        ({**b, "status": "confirmed"}, {"status"}),
        ({k: v for k, v in b.items() if k != "patient_id"}, {"patient_id"}),
        ({**b, "patient_id": "not-a-uuid"}, {"patient_id"}),
        ({**b, "patient_id": unknown}, {"patient_id"}),
        ({**b, "provider_id": unknown}, {"provider_id"}),
        ({**b, "facility_id": unknown}, {"facility_id"}),
        ({**b, "facility_id": str(other.id)}, {"provider_id"}),  # provider does not work there
        ({**b, "provider_id": str(inactive.id)}, {"provider_id"}),
        ({**b, "patient_id": unknown, "facility_id": unknown}, {"patient_id", "facility_id"}),  # all at once
        ({**b, "rescheduled_from_id": unknown}, {"rescheduled_from_id"}),
    ]


def test_bad_input_is_422_naming_each_field_and_writes_nothing(client, admin, clinic, make, db):
    cases = _bad_bodies(clinic, make)
    before = counts(db)
    for body, fields in cases:
        r = client.post(URL, json=body, headers=admin)
        assert r.status_code == 422, (body, r.text)
        named = {d["loc"][1] for d in r.json()["detail"]}
        assert named == fields, (body, r.json())
        assert all(d["loc"][0] == "body" and d["msg"] for d in r.json()["detail"])
    assert counts(db) == before


# --- schedule, time off, double booking ------------------------------------------------------------------

def put_schedule(client, admin, provider, templates, time_off=()):
    r = client.put(f"/api/v1/providers/{provider.id}/schedule", headers=admin,
                   json={"templates": list(templates), "time_off": list(time_off)})
    assert r.status_code == 200, r.text


def template(facility, weekday=0, start="09:00", end="17:00", effective_from="2020-01-01", effective_to=None):
    return {"weekday": weekday, "start_time": start, "end_time": end, "facility_id": str(facility.id),
            "effective_from": effective_from, "effective_to": effective_to}


@pytest.fixture
def west(make):
    """A Los Angeles clinic with a bookable patient and a provider without a schedule yet."""
    facility = make.facility(timezone="America/Los_Angeles")
    return Clinic(facility, make.provider([facility]), make.patient(facility))


def test_schedule_templates_are_read_in_the_facility_timezone(client, admin, west, db):
    put_schedule(client, admin, west.provider, [template(west.facility)])  # Mondays 09:00-17:00 Pacific
    r = client.post(URL, json=west.body(at(16, 30)), headers=admin)  # 08:30 PST, though 16:30 is 09-17 in UTC
    assert r.status_code == 409 and "outside the provider's schedule" in r.json()["detail"]
    assert "America/Los_Angeles" in r.json()["detail"] and "09:00-17:00" in r.json()["detail"]
    refused = [(at(16, 59), 2),  # 08:59-09:01: starts before opening
               (at(24, 45), 30),  # 16:45-17:15: runs past closing
               (at(24 + 17, 30), 30)]  # Tuesday 09:30: no Tuesday template
    for start, minutes in refused:
        assert client.post(URL, json=west.body(start, minutes), headers=admin).status_code == 409, start
    assert book(client, admin, west.body(at(17, 30)))["starts_at"] == "2030-01-07T17:30:00Z"  # 09:30 PST
    assert book(client, admin, west.body(at(17, 0)))  # 09:00-09:30: the opening edge is inside
    assert book(client, admin, west.body(at(24, 30)))  # 16:30-17:00: the closing edge is inside
    july = datetime(2030, 7, 8, tzinfo=UTC)  # a summer Monday: PDT is UTC-7, so 16:30Z is 09:30 local
    assert book(client, admin, west.body(at(16, 30, july)))
    assert db.scalar(select(func.count()).select_from(Appointment)) == 4


def test_template_effective_dates_and_adjacent_templates(client, admin, west):
    put_schedule(client, admin, west.provider, [
        template(west.facility, start="09:00", end="12:00", effective_from="2030-01-07", effective_to="2030-01-07"),
        template(west.facility, start="12:00", end="17:00", effective_from="2030-01-07", effective_to="2030-01-07"),
        template(west.facility, weekday=1, start="09:00", end="12:00"),
        template(west.facility, weekday=1, start="13:00", end="17:00"),
    ])
    noon = at(20)  # 12:00 PST on Monday 2030-01-07
    assert book(client, admin, west.body(noon - timedelta(minutes=30), minutes=60))  # spans two touching templates
    next_monday = noon + timedelta(days=7)  # after effective_to
    assert client.post(URL, json=west.body(next_monday), headers=admin).status_code == 409
    before = noon - timedelta(days=7)  # before effective_from
    assert client.post(URL, json=west.body(before), headers=admin).status_code == 409
    tuesday_lunch = noon + timedelta(days=1, minutes=-30)  # 11:30-12:30 runs into Tuesday's lunch gap
    assert client.post(URL, json=west.body(tuesday_lunch, minutes=60), headers=admin).status_code == 409
    assert book(client, admin, west.body(tuesday_lunch, minutes=30))


def test_time_off_refuses_overlapping_bookings(client, admin, west):
    off = {"starts_at": at(19).isoformat(), "ends_at": at(21).isoformat(), "reason": "CME course"}
    put_schedule(client, admin, west.provider, [template(west.facility)], [off])
    r = client.post(URL, json=west.body(at(20, 30), minutes=60), headers=admin)
    assert r.status_code == 409 and "CME course" in r.json()["detail"] and r.json()["time_off_id"]
    assert client.post(URL, json=west.body(at(18, 45)), headers=admin).status_code == 409  # ends inside
    assert book(client, admin, west.body(at(18, 30)))  # ends exactly when time off starts
    assert book(client, admin, west.body(at(21)))  # starts exactly when it ends


def test_double_booking_is_409_with_the_conflicting_id(client, admin, clinic, make, db):
    first = book(client, admin, clinic.body(at(15), minutes=30))
    for start, minutes in [(at(15, 15), 30), (at(14, 45), 30), (at(14), 180), (at(15, 5), 10), (at(15), 30)]:
        r = client.post(URL, json=clinic.body(start, minutes), headers=admin)
        assert r.status_code == 409, (start, r.text)
        assert r.json()["conflicting_appointment_id"] == first["id"]
    assert book(client, admin, clinic.body(at(15, 30)))  # touching: starts when the first ends
    assert book(client, admin, clinic.body(at(14, 30)))  # touching: ends when the first starts
    other = make.provider([clinic.facility])
    make.schedule(other, clinic.facility)
    assert book(client, admin, clinic.body(at(15), provider_id=str(other.id)))  # another provider is free
    assert db.scalar(select(func.count()).select_from(Appointment)) == 4


def test_cancelled_and_no_show_slots_can_be_booked_again(client, admin, clinic):
    for hour, freeing in ((15, "cancelled"), (17, "no_show")):
        first = book(client, admin, clinic.body(at(hour)))
        assert move(client, admin, first["id"], freeing).status_code == 200
        second = book(client, admin, clinic.body(at(hour)))
        r = client.post(URL, json=clinic.body(at(hour)), headers=admin)
        assert r.status_code == 409 and r.json()["conflicting_appointment_id"] == second["id"], freeing


# --- reschedule (PATCH) ----------------------------------------------------------------------------------

def test_reschedule_rechecks_overlap_and_schedule(client, admin, clinic, make):
    a = book(client, admin, clinic.body(at(15)))
    b = book(client, admin, clinic.body(at(16)))
    r = client.patch(f"{URL}/{a['id']}", json={"reminder_sent_at": at(1).isoformat()}, headers=admin)
    assert r.json()["reminder_sent_at"] == "2030-01-07T01:00:00Z"
    r = client.patch(f"{URL}/{a['id']}", json={"starts_at": at(15, 45).isoformat(), "ends_at": at(16, 15).isoformat()},
                     headers=admin)
    assert r.status_code == 409 and r.json()["conflicting_appointment_id"] == b["id"]
    assert client.get(f"{URL}/{a['id']}", headers=admin).json()["starts_at"] == a["starts_at"]
    r = client.patch(f"{URL}/{a['id']}", json={"starts_at": at(15, 10).isoformat(), "ends_at": at(15, 40).isoformat()},
                     headers=admin)  # overlaps only its own old slot
    assert r.status_code == 200, r.text
    assert r.json()["starts_at"] == "2030-01-07T15:10:00Z" and r.json()["reminder_sent_at"] is None
    other = make.provider([clinic.facility])  # works here but has no schedule
    r = client.patch(f"{URL}/{a['id']}", json={"provider_id": str(other.id)}, headers=admin)
    assert r.status_code == 409 and "schedule" in r.json()["detail"]
    make.schedule(other, clinic.facility)
    r = client.patch(f"{URL}/{b['id']}", json={"provider_id": str(other.id)}, headers=admin)
    assert r.status_code == 200 and r.json()["provider_id"] == str(other.id)


def test_reschedule_field_edits_skip_the_slot_check(client, admin, clinic):
    a = book(client, admin, clinic.body(at(15)))
    put_schedule(client, admin, clinic.provider, [])  # the provider's hours are gone since booking
    r = client.patch(f"{URL}/{a['id']}", json={"reason": "follow-up of MRI", "appointment_type": "new_patient",
                                               "reminder_sent_at": "2030-01-06T12:00:00-05:00"}, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["reason"], r.json()["reminder_sent_at"]) == ("follow-up of MRI", "2030-01-06T17:00:00Z")
    r = client.patch(f"{URL}/{a['id']}", json={"starts_at": at(15, 5).isoformat()}, headers=admin)
    assert r.status_code == 409


def test_reschedule_bad_input_is_422_and_changes_nothing(client, admin, clinic, make, db):
    a = book(client, admin, clinic.body(at(15)))
    elsewhere = make.provider([make.facility()])
    inactive = make.provider([clinic.facility], active=False)
    cases = [
        ({"starts_at": None}, "starts_at"), ({"provider_id": None}, "provider_id"),
        ({"appointment_type": None}, "appointment_type"), ({"ends_at": at(14).isoformat()}, "ends_at"),
        ({"starts_at": at(16).isoformat()}, "starts_at"), ({"ends_at": "2030-01-07T20:00:00"}, "ends_at"),
        ({"starts_at": at(15).isoformat(), "ends_at": at(23, 1).isoformat()}, "ends_at"),
        ({"provider_id": str(elsewhere.id)}, "provider_id"), ({"provider_id": str(inactive.id)}, "provider_id"),
        ({"facility_id": str(clinic.facility.id)}, "facility_id"), ({"status": "confirmed"}, "status"),
    ]
    before = counts(db)
    for body, field in cases:
        r = client.patch(f"{URL}/{a['id']}", json=body, headers=admin)
        assert r.status_code == 422, (body, r.text)
        assert [d["loc"][1] for d in r.json()["detail"]] == [field], (body, r.json())
    assert counts(db) == before
    missing = client.patch(f"{URL}/00000000-0000-0000-0000-000000000000", json={"reason": "x"}, headers=admin)
    assert missing.status_code == 404


def test_only_scheduled_or_confirmed_appointments_can_be_edited(client, admin, clinic, db):
    paths = [["cancelled"], ["no_show"], ["confirmed", "checked_in"], ["confirmed", "checked_in", "completed"]]
    for hour, path in zip((6, 8, 10, 12), paths):
        a = book(client, admin, clinic.body(at(hour)))
        for status in path:
            assert move(client, admin, a["id"], status).status_code == 200
        before = counts(db)
        for body in ({"reason": "late"}, {"starts_at": at(20).isoformat(), "ends_at": at(20, 30).isoformat()}):
            r = client.patch(f"{URL}/{a['id']}", json=body, headers=admin)
            assert r.status_code == 409 and r.json()["current_status"] == path[-1], (path, body)
        assert counts(db) == before
    editable = book(client, admin, clinic.body(at(14)))
    assert move(client, admin, editable["id"], "confirmed").status_code == 200
    assert client.patch(f"{URL}/{editable['id']}", json={"reason": "late"}, headers=admin).status_code == 200


def test_rebooking_cancels_and_links_the_earlier_appointment(client, admin, clinic, make, db):
    old = book(client, admin, clinic.body(at(15)))
    new = book(client, admin, clinic.body(at(15), rescheduled_from_id=old["id"]))  # its own slot is freed
    assert new["rescheduled_from_id"] == old["id"]
    assert client.get(f"{URL}/{old['id']}", headers=admin).json()["status"] == "cancelled"
    assert history(db, old["id"]) == [(None, "scheduled"), ("scheduled", "cancelled")]
    again = book(client, admin, clinic.body(at(17), rescheduled_from_id=old["id"]))  # already free: stays cancelled
    assert again["rescheduled_from_id"] == old["id"]
    seen = book(client, admin, clinic.body(at(18)))
    for status in ("confirmed", "checked_in"):
        move(client, admin, seen["id"], status)
    someone_else = make.patient(clinic.facility)
    before = counts(db)
    r = client.post(URL, json=clinic.body(at(19), rescheduled_from_id=seen["id"]), headers=admin)
    assert r.status_code == 409 and r.json()["current_status"] == "checked_in"
    r = client.post(URL, json=clinic.body(at(19), rescheduled_from_id=new["id"], patient_id=str(someone_else.id)),
                    headers=admin)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "rescheduled_from_id"]
    assert counts(db) == before


# --- the status machine ----------------------------------------------------------------------------------

# API.md, verbatim. The expected moves are derived from this text, not from status_machines.py, so a wrong
# table there fails here.
API_MD_MOVES = ["scheduled → confirmed → checked_in → completed", "scheduled|confirmed → cancelled|no_show"]
API_MD_ILLEGAL = [("checked_in", "cancelled")]


def moves_from_api_md() -> set[tuple[str, str]]:
    allowed = set()
    for chain in API_MD_MOVES:
        steps = [step.strip().split("|") for step in chain.split("→")]
        for sources, targets in zip(steps, steps[1:]):
            allowed |= set(product(sources, targets))
    assert not allowed & set(API_MD_ILLEGAL)
    return allowed


ALLOWED = moves_from_api_md()
STATUSES = [s.value for s in AppointmentStatus]


def path_to(target: str) -> list[str]:
    """The shortest legal walk from `scheduled` (where booking puts every appointment) to `target`."""
    queue, seen = deque([("scheduled", [])]), {"scheduled"}
    while queue:
        status, path = queue.popleft()
        if status == target:
            return path
        for a, b in sorted(ALLOWED):
            if a == status and b not in seen:
                seen.add(b)
                queue.append((b, [*path, b]))
    raise AssertionError(f"{target} is unreachable by API.md's moves")


def test_api_md_moves_parse_as_expected():
    assert len(ALLOWED) == 7 and ("confirmed", "checked_in") in ALLOWED and ("scheduled", "checked_in") not in ALLOWED


def test_status_machine_every_pair(client, admin, clinic, db):
    """For every (from, to): drive a fresh appointment to `from` by legal moves, then try `to`."""
    for n, (source, target) in enumerate(product(STATUSES, STATUSES)):
        day = MONDAY + timedelta(days=n // 8)
        appointment = book(client, admin, clinic.body(at(6 + 2 * (n % 8), day=day)))
        for step in path_to(source):
            assert move(client, admin, appointment["id"], step).status_code == 200, (source, step)
        before = counts(db)
        r = move(client, admin, appointment["id"], target)
        now = client.get(f"{URL}/{appointment['id']}", headers=admin).json()
        if (source, target) in ALLOWED:
            assert r.status_code == 200, (source, target, r.text)
            assert now["status"] == target and now["status_changed_at"] == r.json()["status_changed_at"]
            assert history(db, appointment["id"])[-1] == (source, target)
        else:
            assert r.status_code == 409, (source, target, r.text)
            assert now["status"] == source and r.json()["current_status"] == source
            after = counts(db)
            assert (after["AppointmentStatusEvent"], after["OutboxEvent"]) == \
                (before["AppointmentStatusEvent"], before["OutboxEvent"]), (source, target)


def test_status_input_is_validated(client, admin, clinic):
    a = book(client, admin, clinic.body())
    for body in ({"status": "arrived"}, {}, {"status": None}, {"status": "confirmed", "note": "x"}):
        assert client.post(f"{URL}/{a['id']}/status", json=body, headers=admin).status_code == 422, body
    assert move(client, admin, "00000000-0000-0000-0000-000000000000", "confirmed").status_code == 404
    assert client.get(f"{URL}/{a['id']}", headers=admin).json()["status"] == "scheduled"


# --- reading: filters, pagination, audit -----------------------------------------------------------------

def test_list_filters_pagination_and_audit(client, admin, clinic, make, db):
    other_patient = make.patient(clinic.facility)
    ids = [book(client, admin, clinic.body(at(6 + i)))["id"] for i in range(5)]
    theirs = book(client, admin, clinic.body(at(12), patient_id=str(other_patient.id)))["id"]
    move(client, admin, ids[0], "cancelled")
    move(client, admin, ids[1], "confirmed")

    def listed(query=""):
        r = client.get(f"{URL}?{query}", headers=admin)
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["items"]], r.json()["total"]

    assert listed() == ([*ids, theirs], 6)  # ordered by start time
    assert listed(f"patient_id={other_patient.id}") == ([theirs], 1)
    assert listed("status=cancelled&status=confirmed") == (ids[:2], 2)
    assert listed(f"provider_id={clinic.provider.id}&facility_id={clinic.facility.id}&limit=2&offset=1") == (ids[1:3], 6)
    assert listed(f"facility_id={make.facility().id}") == ([], 0)
    last = db.scalar(select(func.max(AuditEvent.seq)))
    listed("limit=3")
    reads = db.scalars(select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq)).all()
    assert [(r.action, r.entity, r.entity_id, r.patient_id) for r in reads] == \
        [("read", "appointments", i, clinic.patient.id) for i in ids[:3]]
    for bad in ("status=arrived", "date_from=2030-13-01", "limit=501", "provider_id=x",
                "date_from=2030-01-08&date_to=2030-01-07"):
        assert client.get(f"{URL}?{bad}", headers=admin).status_code == 422, bad


def test_date_filters_are_facility_local_days(client, admin, clinic, west, make):
    put_schedule(client, admin, west.provider, [template(west.facility, weekday=d, start="00:00", end="23:59")
                                                for d in range(7)])
    late_west = book(client, admin, west.body(at(24 + 7)))  # Monday 23:00 in Los Angeles = Tuesday 07:00Z
    late_east = book(client, admin, clinic.body(at(24 + 4)))  # Monday 23:00 in New York = Tuesday 04:00Z
    early_east = book(client, admin, clinic.body(at(24 + 5)))  # Tuesday 00:00 in New York

    def day(query):
        return {a["id"] for a in client.get(f"{URL}?{query}", headers=admin).json()["items"]}

    assert day("date_from=2030-01-07&date_to=2030-01-07") == {late_west["id"], late_east["id"]}
    assert day("date_from=2030-01-08") == {early_east["id"]}
    assert day("date_to=2030-01-07") == {late_west["id"], late_east["id"]}
    assert day(f"date_from=2030-01-07&date_to=2030-01-08&facility_id={west.facility.id}") == {late_west["id"]}


# --- roles and scoping -----------------------------------------------------------------------------------

WRITERS = {Role.admin, Role.front_desk}
READERS = WRITERS | {Role.physician}


def test_role_matrix(client, auth, clinic, db):
    for role in Role:
        headers = auth(role.value, provider=clinic.provider if role == Role.physician else None)
        slot = at(6 + list(Role).index(role) * 2)
        r = client.post(URL, json=clinic.body(slot), headers=headers)
        assert r.status_code == (201 if role in WRITERS else 403), (role, r.text)
        target = r.json()["id"] if r.status_code == 201 else \
            book(client, auth("admin"), clinic.body(slot))["id"]
        expected_read = 200 if role in READERS else 403
        assert client.get(f"{URL}/{target}", headers=headers).status_code == expected_read, role
        assert client.get(URL, headers=headers).status_code == expected_read, role
        expected_write = 200 if role in WRITERS else 403
        assert client.patch(f"{URL}/{target}", json={"reason": "r"}, headers=headers).status_code == expected_write
        assert move(client, headers, target, "confirmed").status_code == expected_write, role
    assert client.get(URL).status_code == 401
    assert client.post(URL, json=clinic.body(at(22))).status_code == 401


def test_physicians_see_only_their_own_appointments(client, admin, auth, clinic, make):
    colleague = make.provider([clinic.facility])
    make.schedule(colleague, clinic.facility)
    mine = book(client, admin, clinic.body(at(15)))
    theirs = book(client, admin, clinic.body(at(15), provider_id=str(colleague.id)))
    doctor = auth("physician", provider=clinic.provider)
    assert client.get(f"{URL}/{mine['id']}", headers=doctor).status_code == 200
    assert client.get(f"{URL}/{theirs['id']}", headers=doctor).status_code == 404
    listed = client.get(f"{URL}?provider_id={colleague.id}", headers=doctor).json()
    assert listed == {"items": [], "total": 0}
    assert [a["id"] for a in client.get(URL, headers=doctor).json()["items"]] == [mine["id"]]


def test_other_facilities_appointments_do_not_exist_for_the_caller(client, admin, auth, clinic, make, db):
    away = make.facility()
    away_provider = make.provider([away, clinic.facility])
    make.schedule(away_provider, away)
    away_patient = make.patient(away)
    hidden = book(client, admin, clinic.body(at(15), facility_id=str(away.id), provider_id=str(away_provider.id),
                                             patient_id=str(away_patient.id)))
    desk = auth("front_desk", facilities=[clinic.facility])
    visible = book(client, desk, clinic.body(at(15)))
    assert client.get(f"{URL}/{hidden['id']}", headers=desk).status_code == 404
    assert client.patch(f"{URL}/{hidden['id']}", json={"reason": "x"}, headers=desk).status_code == 404
    assert move(client, desk, hidden["id"], "cancelled").status_code == 404
    assert [a["id"] for a in client.get(URL, headers=desk).json()["items"]] == [visible["id"]]
    before = counts(db)
    r = client.post(URL, json=clinic.body(at(16), facility_id=str(away.id), provider_id=str(away_provider.id)),
                    headers=desk)
    assert r.status_code == 422 and [d["loc"][1] for d in r.json()["detail"]] == ["facility_id"]
    r = client.post(URL, json=clinic.body(at(16), patient_id=str(away_patient.id)), headers=desk)
    assert r.status_code == 422 and [d["loc"][1] for d in r.json()["detail"]] == ["patient_id"]
    assert counts(db) == before
    assert client.get(f"{URL}/{hidden['id']}", headers=admin).json()["status"] == "scheduled"


# --- concurrency -----------------------------------------------------------------------------------------

def concurrently(app, calls) -> list[int]:
    """Run each `call(client)` in its own thread with its own client (so its own DB session), all released
    at once by a barrier; return the status codes."""
    barrier = threading.Barrier(len(calls))
    codes: list[int] = []

    def run(call):
        with TestClient(app) as c:
            barrier.wait()
            codes.append(call(c).status_code)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(codes)


def test_concurrent_bookings_of_one_slot_admit_exactly_one(app, admin, clinic, db):
    """Ten clients book the same slot at the same moment: the provider lock lets exactly one through.

    Runs on both backends and fails on both without the lock (checked by disabling it). PostgreSQL
    serializes on the provider row (FOR UPDATE); SQLite on its database write lock, taken by the no-op
    UPDATE before the overlap check, with busy_timeout making the others wait rather than fail, so the
    outcome is deterministic there too.
    """
    body = clinic.body(at(15))
    codes = concurrently(app, [lambda c: c.post(URL, json=body, headers=admin)] * 10)
    assert codes == [201] + [409] * 9
    assert db.scalar(select(func.count()).select_from(Appointment)) == 1


def test_concurrent_status_moves_admit_exactly_one(app, client, admin, clinic, db):
    """Check-in and cancel racing on one confirmed visit: after either, the other is illegal, so one wins."""
    a = book(client, admin, clinic.body(at(15)))
    move(client, admin, a["id"], "confirmed")
    calls = [lambda c, s=status: move(c, admin, a["id"], s) for status in ["checked_in", "cancelled"] * 5]
    assert concurrently(app, calls) == [200] + [409] * 9
    assert len(history(db, a["id"])) == 3  # booked, confirmed, and the one winning move


def test_calendar_lock_changes_no_replicated_data(db, clinic):
    """The SQLite lock is a real UPDATE: it must not bump updated_at nor emit an outbox event."""
    stamp = db.scalar(select(Provider.updated_at).where(Provider.id == clinic.provider.id))
    before = counts(db)
    lock_provider_calendar(db, clinic.provider.id)
    db.commit()
    assert db.scalar(select(Provider.updated_at).where(Provider.id == clinic.provider.id)) == stamp
    assert counts(db) == before
