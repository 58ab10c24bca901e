"""One facility's worth of rows, one of each entity, made through the API as an admin would.

`ids` maps a route's path parameter name (`patient_id`, `claim_id`, ...) to a real row, so tests
can fill any route template. A path parameter the world has no row for fails the tests that use it:
a new kind of resource must be added here, not skipped.
"""

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient

from tests.ops_api.factories import Factory

_serial = itertools.count(1)


@dataclass
class World:
    facility: object
    ids: dict[str, str] = field(default_factory=dict)

    def fill(self, template: str) -> str:
        """The path with every `{name}` replaced by the world's row of that name."""
        path = template
        for name, value in self.ids.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"the security world has no row for a parameter of {template}: add it in world.py"
        return path


def _created(response, what: str) -> dict:
    assert response.status_code in (200, 201), f"building the world: {what} → {response.status_code} {response.text}"
    return response.json()


def build_world(client: TestClient, make: Factory, admin: dict, patient: dict | None = None,
                member_id: str | None = None) -> World:
    """Rows in a new facility; `patient` overrides fields of the patient created through the API."""
    n = next(_serial)
    facility = make.facility()
    provider = make.provider([facility])
    make.schedule(provider, facility)
    payer = make.payer()
    world = World(facility, {"facility_id": str(facility.id), "provider_id": str(provider.id),
                             "payer_id": str(payer.id)})
    body = {"first_name": f"World{n}", "last_name": "Patient", "date_of_birth": "1980-02-03", "sex": "F",
            "phone": "555-010-0000", "facility_id": str(facility.id), **(patient or {})}
    world.ids["patient_id"] = _created(client.post("/api/v1/patients?allow_duplicate=true", json=body,
                                                   headers=admin), "patient")["id"]
    url = f"/api/v1/patients/{world.ids['patient_id']}"
    world.ids["coverage_id"] = _created(client.post(f"{url}/coverages", headers=admin, json={
        "payer_id": str(payer.id), "member_id": member_id or f"W{n:08d}", "group_number": f"G{n}",
        "effective_from": "2020-01-01"}), "coverage")["id"]
    # 15:00 UTC is mid-morning in New York: the visit never straddles the facility's midnight, whenever this runs
    visit = (datetime.now(UTC) - timedelta(days=3)).replace(hour=15, minute=0, second=0, microsecond=0)
    world.ids["appointment_id"] = _created(client.post("/api/v1/appointments", headers=admin, json={
        "patient_id": world.ids["patient_id"], "provider_id": str(provider.id), "facility_id": str(facility.id),
        "starts_at": visit.isoformat(), "ends_at": (visit + timedelta(minutes=30)).isoformat(),
        "appointment_type": "follow_up"}), "appointment")["id"]
    world.ids["encounter_id"] = _created(client.post("/api/v1/encounters", headers=admin, json={
        "patient_id": world.ids["patient_id"], "provider_id": str(provider.id), "facility_id": str(facility.id),
        "date_of_service": (date.today() - timedelta(days=3)).isoformat(), "diagnosis_codes": ["J06.9"],
        "lines": [{"procedure_code": "99213", "charge_amount": "120.00", "diagnosis_pointers": [1]}]}),
        "encounter")["id"]
    world.ids["claim_id"] = _created(client.post("/api/v1/claims", headers=admin, json={
        "encounter_id": world.ids["encounter_id"]}), "claim")["id"]
    world.ids["payment_id"] = _created(client.post("/api/v1/payments", json={
        "patient_id": world.ids["patient_id"], "source": "patient", "method": "card", "amount": "20.00"},
        headers={**admin, "Idempotency-Key": uuid.uuid4().hex}), "payment")["id"]
    world.ids["adjustment_id"] = _created(client.post("/api/v1/adjustments", headers=admin, json={
        "patient_id": world.ids["patient_id"], "kind": "discount", "amount": "5.00",
        "reason": "prompt pay"}), "adjustment")["id"]
    world.ids["user_id"] = str(make.user("front_desk", facilities=[facility]).id)
    return world
