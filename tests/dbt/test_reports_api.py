"""GET /api/v1/reports/kpis on the marts built from the known practice (tests/dbt/practice.py)."""

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from ops_api.api.routes import reports
from ops_api.db import get_session
from ops_api.main import create_app
from ops_api.security import create_access_token
from tests.ops_api.factories import Factory
from warehouse.client import get_client

pytestmark = [pytest.mark.warehouse, pytest.mark.xdist_group("dbt-marts")]  # one build per session
PERIOD = {"date_from": "2026-01-01", "date_to": "2026-06-30"}


@pytest.fixture(scope="module")
def api(marts, ops_session_factory) -> Iterator[TestClient]:
    app = create_app()
    if not any(getattr(r, "path", "") == "/api/v1/reports/kpis" for r in app.routes):
        app.include_router(reports.router, prefix="/api/v1")  # until ops_api/api/router.py mounts it

    def _session():
        with ops_session_factory() as session:
            yield session

    app.dependency_overrides[get_session] = _session
    app.dependency_overrides[reports.warehouse_client_factory] = lambda: (lambda: get_client(url=marts.url))
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def headers(ops_session_factory, marts):
    """Authorization headers per role (executive scoped to East when asked)."""
    made = {}

    def _headers(role: str = "executive", facilities=None) -> dict:
        key = (role, tuple(f.id for f in facilities or []))
        if key not in made:
            with ops_session_factory() as session:
                user = Factory(session).user(role, facilities=facilities)
            made[key] = {"Authorization": f"Bearer {create_access_token(user.id, user.role.value)}"}
        return made[key]

    return _headers


def test_period_sums_and_rates(api, headers, marts):
    response = api.get("/api/v1/reports/kpis", params=PERIOD, headers=headers("executive"))
    assert response.status_code == 200, response.text
    body = response.json()
    sums, rates = body["sums"], body["rates"]
    assert body["as_of"] == "2026-06-30"
    [(ar_total, charges_90)] = marts.query(
        "select sumIf(ar_total, date = '2026-06-30'), sumIf(gross_charges, date > '2026-04-01') "
        "from marts.fct_kpi_daily")
    assert sums["ar_total"] == f"{ar_total:.2f}"
    assert isinstance(sums["payments_received"], str) and sums["payments_received"].count(".") == 1
    assert (sums["claims_first_submitted"], sums["claims_clean"]) == (7, 6)
    assert rates["clean_claim_rate"] == pytest.approx(6 / 7, abs=1e-6)
    assert rates["denial_rate_count"] == pytest.approx(3 / 6, abs=1e-6)
    assert rates["denial_rate_amount"] == pytest.approx(940 / 1480, abs=1e-6)
    assert rates["first_pass_resolution_rate"] == pytest.approx(4 / 6, abs=1e-6)
    assert rates["no_show_rate"] == pytest.approx(1 / 11, abs=1e-6)
    assert rates["days_in_ar"] == pytest.approx(float(ar_total / (charges_90 / 90)), abs=0.01)
    payments, charges = Decimal(sums["payments_received"]), Decimal(sums["gross_charges"])
    contractual = Decimal(sums["contractual_adjustments"])
    assert rates["gross_collection_rate"] == pytest.approx(float(payments / charges), abs=1e-6)
    assert rates["net_collection_rate"] == pytest.approx(float(payments / (charges - contractual)), abs=1e-6)
    assert rates["net_collection_rate_provisional"] is False  # June 2026 is > 120 days ago


def test_snapshot_is_as_of_date_to_and_flows_cover_the_period(api, headers):
    march = api.get("/api/v1/reports/kpis", params={"date_from": "2026-03-01", "date_to": "2026-03-31"},
                    headers=headers()).json()
    whole = api.get("/api/v1/reports/kpis", params=PERIOD, headers=headers()).json()
    assert march["as_of"] == "2026-03-31"
    assert march["sums"]["ar_total"] != whole["sums"]["ar_total"]
    assert march["sums"]["claims_first_submitted"] == 2  # the late-remittance and the partial-payment claims


def test_facility_filter_and_scope(api, headers, marts):
    east = marts.built.facilities["east"]
    west = marts.built.facilities["west"]
    one = api.get("/api/v1/reports/kpis", params={**PERIOD, "facility_id": str(west.id)}, headers=headers())
    assert one.status_code == 200
    assert one.json()["facility_id"] == str(west.id)
    scoped = headers("executive", facilities=[east])
    assert api.get("/api/v1/reports/kpis", params={**PERIOD, "facility_id": str(west.id)},
                   headers=scoped).status_code == 404
    mine = api.get("/api/v1/reports/kpis", params=PERIOD, headers=scoped).json()
    everything = api.get("/api/v1/reports/kpis", params=PERIOD, headers=headers()).json()
    west_only = one.json()
    assert Decimal(mine["sums"]["gross_charges"]) + Decimal(west_only["sums"]["gross_charges"]) == \
        Decimal(everything["sums"]["gross_charges"])


def test_permissions_and_validation(api, headers):
    assert api.get("/api/v1/reports/kpis", params=PERIOD).status_code == 401
    assert api.get("/api/v1/reports/kpis", params=PERIOD, headers=headers("front_desk")).status_code == 403
    assert api.get("/api/v1/reports/kpis", params=PERIOD, headers=headers("analyst")).status_code == 200
    bad = api.get("/api/v1/reports/kpis", params={"date_from": "2026-06-30", "date_to": "2026-01-01"},
                  headers=headers())
    assert bad.status_code == 422
    assert api.get("/api/v1/reports/kpis", params={"date_from": "2026-01-01"}, headers=headers()).status_code == 422


def test_empty_period_has_null_rates(api, headers):
    body = api.get("/api/v1/reports/kpis", params={"date_from": "2020-01-01", "date_to": "2020-01-31"},
                   headers=headers()).json()
    assert body["as_of"] is None
    assert body["sums"]["ar_total"] == "0.00"
    assert body["rates"]["clean_claim_rate"] is None and body["rates"]["days_in_ar"] is None


def test_warehouse_down_is_503(api, headers):
    api.app.dependency_overrides[reports.warehouse_client_factory] = \
        lambda: (lambda: get_client(url="http://127.0.0.1:9/default", connect_timeout=1, send_receive_timeout=1))
    try:
        response = api.get("/api/v1/reports/kpis", params=PERIOD, headers=headers())
    finally:
        del api.app.dependency_overrides[reports.warehouse_client_factory]
    assert response.status_code == 503
    assert "warehouse" in response.json()["detail"]
