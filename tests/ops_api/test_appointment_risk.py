"""The appointment list carries the latest no-show risk from ClickHouse, and survives its absence."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from ml.scores import write_scores
from ml.tables import ensure_schema
from ops_api import risk
from pms.settings import get_settings
from tests.warehouse.conftest import TEST_PASSWORD, TEST_USER, embedded_server  # noqa: F401


def book(client, admin, make, days_from_now: int):
    """A 20-minute visit at 15:00 UTC (10:00 or 11:00 in New York) some days ahead: inside the schedule at any
    wall-clock time the suite runs, where "now + N hours" can straddle local midnight."""
    facility = make.facility()
    provider = make.provider([facility])
    make.schedule(provider, facility)
    patient = make.patient(facility)
    start = (datetime.now(UTC) + timedelta(days=days_from_now)).replace(hour=15, minute=0, second=0, microsecond=0)
    r = client.post("/api/v1/appointments", headers=admin, json={
        "patient_id": str(patient.id), "provider_id": str(provider.id), "facility_id": str(facility.id),
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=20)).isoformat(),
        "appointment_type": "follow_up"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture
def warehouse_url(embedded_server, monkeypatch):  # noqa: F811
    url = f"http://{TEST_USER}:{TEST_PASSWORD}@{embedded_server.host}:{embedded_server.port}/default"
    monkeypatch.setenv("CLICKHOUSE_URL", url)
    get_settings.cache_clear()
    monkeypatch.setattr(risk, "_down_until", 0.0)
    yield embedded_server
    get_settings.cache_clear()


@pytest.mark.warehouse
def test_list_shows_latest_score(client, admin, make, warehouse_url):
    scored, unscored = book(client, admin, make, 2), book(client, admin, make, 3)
    ch = risk.get_client()
    ensure_schema(ch)
    write_scores(ch, pd.DataFrame({"appointment_id": [scored], "probability": [0.2]}), "v1")
    write_scores(ch, pd.DataFrame({"appointment_id": [scored], "probability": [0.35]}), "v2",
                 scored_at=datetime.now(UTC) + timedelta(seconds=5))
    items = {a["id"]: a for a in client.get("/api/v1/appointments", headers=admin).json()["items"]}
    assert items[scored]["no_show_probability"] == pytest.approx(0.35)
    assert items[unscored]["no_show_probability"] is None
    ch.close()


def test_list_works_when_warehouse_is_down(client, admin, make, monkeypatch):
    monkeypatch.setenv("CLICKHOUSE_URL", "http://127.0.0.1:9/default")  # nothing listens on port 9
    get_settings.cache_clear()
    monkeypatch.setattr(risk, "_down_until", 0.0)
    try:
        appointment = book(client, admin, make, 2)
        r = client.get("/api/v1/appointments", headers=admin)
        assert r.status_code == 200
        assert r.json()["items"][0]["id"] == appointment and r.json()["items"][0]["no_show_probability"] is None
        assert risk._down_until > 0  # not asked again on every request
    finally:
        get_settings.cache_clear()
