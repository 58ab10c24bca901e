"""KPI reports from the warehouse marts (marts.fct_kpi_daily, built by dbt; definitions in KPIS.md).

The operational store is never queried for KPIs: the marts are the single definition. Flows are summed
over the period; A/R snapshots are taken on the last built day on or before `date_to`; rates are
ratios of those sums. Facility scoping applies as everywhere: a caller sees only their facilities.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ops_api.errors import DomainError, Invalid, NotFound
from ops_api.principal import Principal

log = logging.getLogger(__name__)

KPI_TABLE = "marts.fct_kpi_daily"
SNAPSHOT_COLUMNS = ("ar_total", "ar_0_30", "ar_31_60", "ar_61_90", "ar_91_120", "ar_over_120",
                    "ar_insurance", "ar_patient", "credit_balance")
FLOW_COLUMNS = ("gross_charges", "contractual_adjustments", "payments_received", "payments_insurance",
                "payments_patient", "claims_first_submitted", "claims_clean", "claims_first_adjudicated",
                "claims_initially_denied", "claims_first_pass_paid", "charges_first_adjudicated",
                "charges_initially_denied", "appointments_scheduled", "appointments_completed",
                "appointments_checked_in", "appointments_no_show", "appointments_cancelled",
                "appointments_late_cancelled", "visits", "wrvus")
MONEY_COLUMNS = frozenset(SNAPSHOT_COLUMNS) | {"gross_charges", "contractual_adjustments", "payments_received",
                                               "payments_insurance", "payments_patient", "charges_first_adjudicated",
                                               "charges_initially_denied", "wrvus"}
DAYS_IN_AR_WINDOW = 90
NET_COLLECTION_MATURITY = timedelta(days=120)
MAX_PERIOD = timedelta(days=3660)


class WarehouseUnavailable(DomainError):
    """The analytics warehouse cannot answer (down, unreachable, or the marts are not built yet)."""

    status_code = 503


def _facility_filter(principal: Principal, facility_id: uuid.UUID | None) -> list[uuid.UUID] | None:
    """The facilities to report on; None means all. A facility outside the caller's scope does not exist."""
    if facility_id is not None:
        if not principal.sees_facility(facility_id):
            raise NotFound(f"facility {facility_id} not found")
        return [facility_id]
    return sorted(principal.facility_scope) if principal.facility_scope is not None else None


def _query(client, date_from: date, date_to: date, facilities: list[uuid.UUID] | None) -> dict:
    window_start = min(date_from, date_to - timedelta(days=DAYS_IN_AR_WINDOW - 1))
    where = "date between {window_start:Date} and {date_to:Date}"
    params: dict = {"window_start": window_start, "date_from": date_from, "date_to": date_to}
    if facilities is not None:
        where += " and facility_id in {facilities:Array(UUID)}"
        params["facilities"] = [str(f) for f in facilities]
    # Columns are qualified (k.) so an output alias never shadows the column inside another aggregate.
    flows = ",\n".join(f"sumIf(k.{c}, k.date >= {{date_from:Date}}) as {c}" for c in FLOW_COLUMNS)
    snapshots = ",\n".join(f"sumIf(k.{c}, k.date = as_of) as {c}" for c in SNAPSHOT_COLUMNS)
    sql = f"""
        with (select max(date) from {KPI_TABLE} where {where}) as as_of
        select
            as_of,
            count() as days_in_range,
            {flows},
            {snapshots},
            sumIf(k.gross_charges, k.date > as_of - {DAYS_IN_AR_WINDOW}) as charges_90_days
        from {KPI_TABLE} as k
        where {where}
    """
    result = client.query(sql, parameters=params)
    return dict(zip(result.column_names, result.result_rows[0], strict=True))


def _ratio(numerator, denominator) -> float | None:
    if not denominator:
        return None
    return round(float(Decimal(numerator) / Decimal(denominator)), 6)


def _rates(s: dict, date_to: date, today: date) -> dict:
    kept_or_missed = s["appointments_completed"] + s["appointments_checked_in"] + s["appointments_no_show"]
    daily_charges = Decimal(s["charges_90_days"]) / DAYS_IN_AR_WINDOW
    return {
        "days_in_ar": round(float(Decimal(s["ar_total"]) / daily_charges), 2) if daily_charges else None,
        "clean_claim_rate": _ratio(s["claims_clean"], s["claims_first_submitted"]),
        "denial_rate_count": _ratio(s["claims_initially_denied"], s["claims_first_adjudicated"]),
        "denial_rate_amount": _ratio(s["charges_initially_denied"], s["charges_first_adjudicated"]),
        "first_pass_resolution_rate": _ratio(s["claims_first_pass_paid"], s["claims_first_adjudicated"]),
        "gross_collection_rate": _ratio(s["payments_received"], s["gross_charges"]),
        "net_collection_rate": _ratio(s["payments_received"], s["gross_charges"] - s["contractual_adjustments"]),
        "net_collection_rate_provisional": today - date_to < NET_COLLECTION_MATURITY,
        "no_show_rate": _ratio(s["appointments_no_show"], kept_or_missed),
        "late_cancel_rate": _ratio(s["appointments_late_cancelled"], kept_or_missed + s["appointments_late_cancelled"]),
        "pct_ar_over_90": _ratio(s["ar_91_120"] + s["ar_over_120"], s["ar_total"]),
        "pct_ar_over_120": _ratio(s["ar_over_120"], s["ar_total"]),
    }


def kpi_report(client_factory: Callable, principal: Principal, date_from: date, date_to: date,
               facility_id: uuid.UUID | None = None, today: date | None = None) -> dict:
    """The KPIs of KPIS.md for [date_from, date_to] (facility-local days), from marts.fct_kpi_daily."""
    if date_from > date_to:
        raise Invalid([(("query", "date_from"), "date_from must be on or before date_to")])
    if date_to - date_from > MAX_PERIOD:
        raise Invalid([(("query", "date_to"), "a report covers at most 10 years")])
    facilities = _facility_filter(principal, facility_id)
    try:
        client = client_factory()
        try:
            row = _query(client, date_from, date_to, facilities)
        finally:
            client.close()
    except Exception as exc:  # clickhouse-connect raises its own errors and plain OSErrors alike
        log.warning("KPI query failed: %s", type(exc).__name__)
        raise WarehouseUnavailable(_unavailable_message(exc)) from exc
    as_of = row["as_of"] if row["days_in_range"] else None
    sums = {c: row[c] if c not in MONEY_COLUMNS else Decimal(row[c]) for c in (*SNAPSHOT_COLUMNS, *FLOW_COLUMNS)}
    sums["charges_90_days"] = Decimal(row["charges_90_days"])
    today = today or datetime.now(UTC).date()
    rates = _rates(sums, date_to, today)
    del sums["charges_90_days"]
    return {"date_from": date_from, "date_to": date_to, "facility_id": facility_id, "as_of": as_of,
            "sums": sums, "rates": rates}


def _unavailable_message(exc: Exception) -> str:
    text = str(exc)
    if "UNKNOWN_TABLE" in text or "UNKNOWN_DATABASE" in text or "doesn't exist" in text:
        return f"the KPI marts are not built yet ({KPI_TABLE} is missing): run `pms dbt build`"
    return "the analytics warehouse (ClickHouse) is unavailable; KPIs cannot be computed right now"
