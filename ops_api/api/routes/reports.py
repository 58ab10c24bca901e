"""`reports/kpis`: the KPIs of KPIS.md for a period, read from the warehouse marts (aggregates, no PHI)."""

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ops_api.api.deps import allow
from ops_api.schemas.reports import KpiReport
from ops_api.services import reports as svc

router = APIRouter(prefix="/reports", tags=["reports"])


def warehouse_client_factory() -> Callable:
    """How routes reach ClickHouse: the one client factory (overridable in tests)."""
    from warehouse.client import get_client

    return get_client


WarehouseDep = Annotated[Callable, Depends(warehouse_client_factory)]


@router.get("/kpis", response_model=KpiReport,
            responses={404: {"description": "facility not found (or outside the caller's facilities)"},
                       503: {"description": "the warehouse is unavailable or the marts are not built"}})
def get_kpis(principal: allow("reports:read"), warehouse: WarehouseDep,
             date_from: Annotated[date, Query(description="first day (facility-local), inclusive")],
             date_to: Annotated[date, Query(description="last day (facility-local), inclusive")],
             facility_id: Annotated[uuid.UUID | None,
                                    Query(description="one facility; default all the caller's")] = None):
    """Period sums of marts.fct_kpi_daily (A/R snapshots as of the last built day ≤ date_to) and the
    KPIS.md rates computed from them. Money as decimal strings; rates are null when undefined."""
    return svc.kpi_report(warehouse, principal, date_from, date_to, facility_id)
