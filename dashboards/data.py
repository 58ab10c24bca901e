"""Every query the dashboards run, against ``marts.*`` and ``ml.*`` only (ARCHITECTURE.md).

Queries aggregate in ClickHouse and return small frames; the only row-level lists are bounded
(upcoming appointments, an administrator's claim drill-down). All results go through ``query``,
which caches by (warehouse URL, SQL, parameters) for ``dashboards_cache_ttl_seconds``: a page
re-renders from memory, and pages that ask the same question share one answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from streamlit.runtime.scriptrunner_utils.script_run_context import add_script_run_ctx, get_script_run_ctx

from dashboards.auth import Viewer
from dashboards.catalog import DashboardSpec, build_query, distinct_values_query
from dashboards.config import get_dashboard_settings
from dashboards.filters import Dims, Filters, where
from pms.settings import get_settings
from warehouse.client import get_client

TTL = get_dashboard_settings().dashboards_cache_ttl_seconds
PREFETCH_THREADS = 6  # below clickhouse-connect's pool of 8 connections
UNKNOWN_KEY = "00000000-0000-0000-0000-000000000000"  # dbt's unknown member: the dims' "(none)" rows

KPI = Dims(date="t.date", facility="t.facility_id", provider=None, payer=None)
PAYMENTS = Dims(date="t.received_date", facility="t.facility_id", provider="t.provider_id", payer="t.payer_id")
CLAIMS = Dims(date="t.date_of_service", facility="t.facility_id", provider="t.provider_id", payer="t.payer_id")
ADJUDICATIONS = Dims(date="t.first_adjudicated_date", facility="t.facility_id", provider="t.provider_id",
                     payer="t.payer_id")
DENIALS = Dims(date="t.denied_date", facility="t.facility_id", provider="t.provider_id", payer="t.payer_id")
APPOINTMENTS = Dims(date="t.start_date", facility="t.facility_id", provider="t.provider_id", payer=None)
AR = Dims(date="t.date", facility="t.facility_id", provider="t.provider_id", payer="t.payer_id")
PRODUCTIVITY = Dims(date="t.date", facility=None, provider="t.provider_id", payer=None, facility_via_provider=True)


class MissingData(Exception):
    """A mart or ml table the page needs does not exist yet (dbt or ml has not run)."""


Unavailable = OperationalError  # the warehouse did not answer (down, unreachable, timed out)


@st.cache_resource(show_spinner=False)
def _client(url: str) -> Client:
    # No session id: one client serves every Streamlit session's thread at once.
    timeout = get_dashboard_settings().dashboards_query_timeout_seconds
    return get_client(url=url, autogenerate_session_id=False, send_receive_timeout=timeout)


def client() -> Client:
    return _client(get_settings().clickhouse_url)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=2000)
def _frame(url: str, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    """Rows as a frame that keeps its columns when empty; money stays Decimal, dates become datetimes."""
    try:
        result = _client(url).query(sql, parameters=params or None)
    except DatabaseError as exc:
        text = str(exc)
        if "UNKNOWN_TABLE" in text or "UNKNOWN_DATABASE" in text:
            raise MissingData(_missing_message(text)) from exc
        raise
    names, types = result.column_names, [t.name for t in result.column_types]
    if not names:  # an empty answer can come without a header block: ask for the columns
        described = _client(url).query(f"describe ({sql})", parameters=params or None).result_rows
        names, types = [r[0] for r in described], [r[1] for r in described]
    frame = pd.DataFrame(result.result_rows, columns=names)
    for name, column_type in zip(names, types, strict=True):
        if "Date" in column_type:
            frame[name] = pd.to_datetime(frame[name])
    return frame


def _missing_message(text: str) -> str:
    if "ml." in text or "database ml" in text.lower():
        return "No model output yet: run `pms ml train` and `pms ml score`."
    return "The marts are not built yet: run `pms dbt build`."


def query(sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    return _frame(get_settings().clickhouse_url, sql, params or {})


def clear_cache() -> None:
    _frame.clear()


def prefetch(*calls: Callable[[], Any]) -> list[Any]:
    """Run several queries at once to fill the cache; return their results (or errors) in order.

    A page's first, uncached render would otherwise wait on ClickHouse a dozen times in a row; asked
    together, the server answers in parallel. A failure is returned, not raised: the page's own call
    raises it again where it renders, so a missing model only affects its own section.
    """
    ctx = get_script_run_ctx(suppress_warning=True)

    def run(call: Callable[[], Any]) -> Any:
        if ctx is not None:
            add_script_run_ctx(threading.current_thread(), ctx)
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, see above
            return exc

    with ThreadPoolExecutor(max_workers=min(PREFETCH_THREADS, len(calls)) or 1) as pool:
        return list(pool.map(run, calls))


# -- reference data -------------------------------------------------------------------------------

def data_bounds() -> tuple[date, date] | None:
    """First and last day in the KPI mart; the last is the build's "today" (dbt's as_of_date)."""
    frame = query("select min(date) as first, max(date) as last, count() as n from marts.fct_kpi_daily")
    if frame.empty or not frame.at[0, "n"]:
        return None
    return frame.at[0, "first"].date(), frame.at[0, "last"].date()


def facilities(scope: tuple[str, ...] = ()) -> pd.DataFrame:
    condition = "facility_id in {scope:Array(UUID)}" if scope else "1"
    frame = query(f"select toString(facility_id) as id, facility_name as name from marts.dim_facility "
                  f"where {condition} order by name", {"scope": list(scope)} if scope else {})
    return frame


def providers(scope: tuple[str, ...] = ()) -> pd.DataFrame:
    condition = "primary_facility_id in {scope:Array(UUID)}" if scope else "1"
    return query(f"select toString(provider_id) as id, provider_name as name from marts.dim_provider "
                 f"where provider_id != toUUID('{UNKNOWN_KEY}') and {condition} order by name",
                 {"scope": list(scope)} if scope else {})


def payers() -> pd.DataFrame:
    return query("select toString(payer_id) as id, payer_name as name from marts.dim_payer order by name")


# -- executive overview ---------------------------------------------------------------------------

def appointments_on(f: Filters, day: date) -> int:
    """Appointments starting on ``day`` that were not cancelled (the "today" tile)."""
    condition, params = where(f.on(day), APPOINTMENTS)
    frame = query(f"select countIf(t.appointment_status != 'cancelled') as n from marts.fct_appointments as t "
                  f"where {condition}", params)
    return int(frame.at[0, "n"])


def appointment_status(f: Filters) -> pd.DataFrame:
    """Appointments starting in the period by final status."""
    condition, params = where(f, APPOINTMENTS)
    return query(f"select t.appointment_status as status, count() as appointments from marts.fct_appointments as t "
                 f"where {condition} group by status order by status", params)


def payments_total(f: Filters):
    condition, params = where(f, PAYMENTS)
    frame = query(f"select sum(t.amount) as amount, count() as payments from marts.fct_payments as t "
                  f"where {condition}", params)
    return frame.at[0, "amount"]


def payments_by_source(f: Filters) -> dict[str, Any]:
    """Payments in the period by source (insurance, patient), exact."""
    condition, params = where(f, PAYMENTS)
    frame = query(f"select t.payment_source as source, sum(t.amount) as amount from marts.fct_payments as t "
                  f"where {condition} group by source order by source", params)
    return dict(zip(frame["source"], frame["amount"], strict=True))


def claim_status(f: Filters) -> pd.DataFrame:
    """Claims with a date of service in the period by current status (the claims pipeline)."""
    condition, params = where(f, CLAIMS)
    return query(f"select t.claim_status as status, count() as claims, sum(t.total_charge) as charges, "
                 f"sum(t.claim_balance) as balance from marts.fct_claims as t where {condition} "
                 f"group by status order by status", params)


def kpi_sums(f: Filters) -> dict[str, Any]:
    """Period sums of fct_kpi_daily (flows over the period, A/R on its last day), as reports/kpis."""
    flows = ("gross_charges", "contractual_adjustments", "payments_received", "claims_first_submitted", "claims_clean",
             "claims_first_adjudicated", "claims_initially_denied", "claims_first_pass_paid",
             "charges_first_adjudicated", "charges_initially_denied", "appointments_completed",
             "appointments_checked_in", "appointments_no_show", "appointments_late_cancelled", "visits", "wrvus")
    snapshots = ("ar_total", "ar_91_120", "ar_over_120", "ar_insurance", "ar_patient", "credit_balance")
    window = Filters(min(f.date_from, f.date_to - timedelta(days=89)), f.date_to, f.facility_ids)
    condition, params = where(window, KPI)
    params["period_from"] = f.date_from
    sql = (
        f"with (select max(t.date) from marts.fct_kpi_daily as t where {condition}) as as_of "
        "select as_of, "
        + ", ".join(f"sumIf(t.{c}, t.date >= {{period_from:Date}}) as {c}" for c in flows) + ", "
        + ", ".join(f"sumIf(t.{c}, t.date = as_of) as {c}" for c in snapshots)
        + ", sumIf(t.gross_charges, t.date > as_of - 90) as charges_90_days "
        f"from marts.fct_kpi_daily as t where {condition}"
    )
    return query(sql, params).iloc[0].to_dict()


def payments_weekly(f: Filters) -> pd.DataFrame:
    condition, params = where(f, PAYMENTS)
    return query(f"select toMonday(t.received_date) as week, t.payment_source as source, sum(t.amount) as amount "
                 f"from marts.fct_payments as t where {condition} group by week, source order by week, source", params)


def snapshot_dates(f: Filters, last_built: date) -> list[date]:
    """Month ends inside the period, and its last day: the days A/R aging is drawn for."""
    end = min(f.date_to, last_built)
    days, month = [], date(f.date_from.year, f.date_from.month, 1)
    while month <= end:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        month_end = following - timedelta(days=1)
        if f.date_from <= month_end < end:
            days.append(month_end)
        month = following
    return [*days[-12:], end]


def ar_aging_snapshots(f: Filters, days: list[date]) -> pd.DataFrame:
    condition, params = where(f, AR, dates=False)
    params["days"] = days
    return query(f"select t.date as date, t.aging_bucket as bucket, sum(t.ar_balance) as balance "
                 f"from marts.fct_ar_aging_daily as t where t.date in {{days:Array(Date)}} and {condition} "
                 f"group by date, bucket order by date, bucket", params)


def denial_rate_weekly(f: Filters) -> pd.DataFrame:
    """Initial denial rate by week of first adjudication (KPIS.md: period by adjudication date)."""
    condition, params = where(f, ADJUDICATIONS)
    return query(f"select toMonday(t.first_adjudicated_date) as week, count() as adjudicated, "
                 f"sum(t.is_initial_denial) as denied, denied / adjudicated as denial_rate "
                 f"from marts.fct_claims as t where t.first_adjudicated_date is not null and {condition} "
                 f"group by week order by week", params)


def no_show_weekly(f: Filters) -> pd.DataFrame:
    condition, params = where(f, APPOINTMENTS)
    return query(f"select toMonday(t.start_date) as week, sum(t.is_no_show) as no_shows, "
                 f"sum(t.is_completed + t.is_checked_in + t.is_no_show) as kept_or_missed, "
                 f"no_shows / nullIf(kept_or_missed, 0) as no_show_rate "
                 f"from marts.fct_appointments as t where {condition} group by week order by week", params)


def weekly_history(f: Filters, weeks: int = 26) -> pd.DataFrame:
    """Weekly payments per forecast series (practice, or each selected facility): the complete
    Monday-to-Sunday weeks up to the period end, as ml's forecast is trained on them."""
    monday = f.date_to - timedelta(days=f.date_to.weekday())
    last_complete = monday if f.date_to.weekday() == 6 else monday - timedelta(weeks=1)
    window = Filters(last_complete - timedelta(weeks=weeks - 1), last_complete + timedelta(days=6), f.facility_ids)
    condition, params = where(window, PAYMENTS)
    series = "toString(t.facility_id)" if f.facility_ids else "''"
    return query(f"select {series} as series_id, toMonday(t.received_date) as week, sum(t.amount) as amount "
                 f"from marts.fct_payments as t where {condition} group by series_id, week "
                 f"order by series_id, week", params)


def forecast(f: Filters) -> pd.DataFrame:
    """The latest 13-week forecast: the practice series, or each selected facility's."""
    if f.facility_ids:
        condition, params = "facility_id in {facility_ids:Array(UUID)}", {"facility_ids": list(f.facility_ids)}
    else:
        condition, params = "facility_id is null", {}
    return query(f"select ifNull(toString(facility_id), '') as series_id, week_start as week, point, lo80, hi80, "
                 f"lo95, hi95, model_version from ml.latest_revenue_forecast where {condition} "
                 f"order by series_id, week", params)


# -- revenue cycle -------------------------------------------------------------------------------

def ar_by_payer(f: Filters, as_of: date) -> pd.DataFrame:
    """A/R on ``as_of`` by payer, aging bucket and responsibility."""
    condition, params = where(f, AR, dates=False)
    params["as_of"] = as_of
    return query(f"select toString(t.payer_id) as payer_id, y.payer_name as payer, t.aging_bucket as bucket, "
                 f"t.responsibility as responsibility, sum(t.ar_balance) as balance, "
                 f"sum(t.open_accounts) as open_accounts "
                 f"from marts.fct_ar_aging_daily as t left join marts.dim_payer as y on y.payer_id = t.payer_id "
                 f"where t.date = {{as_of:Date}} and {condition} "
                 f"group by payer_id, payer, bucket, responsibility having balance != 0 "
                 f"order by payer, bucket", params)


def _bucket(age: str) -> str:
    """The aging bucket of an age in days, as dbt's aging_bucket macro names them."""
    return f"multiIf({age} <= 30, '0-30', {age} <= 60, '31-60', {age} <= 90, '61-90', {age} <= 120, '91-120', '121+')"


def _open_claims(f: Filters, payer_id: str, bucket: str, as_of: date) -> tuple[str, dict]:
    condition, params = where(f, CLAIMS, dates=False)
    params.update(payer_id=payer_id, bucket=bucket, as_of=as_of)
    bucket_sql = _bucket("dateDiff('day', t.date_of_service, {as_of:Date})")
    return (f"from marts.fct_claims as t left join marts.dim_provider as p on p.provider_id = t.provider_id "
            f"where t.payer_id = {{payer_id:UUID}} and t.claim_balance > 0 and t.date_of_service <= {{as_of:Date}} "
            f"and {bucket_sql} = {{bucket:String}} and {condition}"), params


def open_claims_by_provider(f: Filters, payer_id: str, bucket: str, as_of: date) -> pd.DataFrame:
    """The drill-down for executives and analysts: counts and balances, no claim ids."""
    source, params = _open_claims(f, payer_id, bucket, as_of)
    return query(f"select p.provider_name as provider, count() as claims, sum(t.claim_balance) as balance, "
                 f"round(avg(dateDiff('day', t.date_of_service, {{as_of:Date}}))) as average_age_days "
                 f"{source} group by provider order by balance desc", params)


def open_claims(f: Filters, payer_id: str, bucket: str, as_of: date, viewer: Viewer, limit: int = 500) -> pd.DataFrame:
    """The drill-down to individual claims; claim ids are for roles that may see them (admin)."""
    if not viewer.may_see_claim_ids:
        raise PermissionError(f"the {viewer.role} role sees A/R aggregates only")
    source, params = _open_claims(f, payer_id, bucket, as_of)
    return query(f"select toString(t.claim_id) as claim_id, t.date_of_service as date_of_service, "
                 f"p.provider_name as provider, t.claim_status as status, t.total_charge as charge, "
                 f"t.claim_balance as balance, dateDiff('day', t.date_of_service, {{as_of:Date}}) as age_days "
                 f"{source} order by balance desc limit {int(limit)}", params)


def denials(f: Filters) -> pd.DataFrame:
    """Denials in the period by CARC reason, payer and what followed (appeal outcome)."""
    condition, params = where(f, DENIALS)
    return query(
        "select concat(t.carc_group_code, '-', t.carc_reason_code) as reason, y.payer_name as payer, "
        "multiIf(t.is_overturned = 1, 'overturned on appeal', t.is_appealed = 1, 'appealed, not overturned', "
        "t.written_off_amount > 0, 'written off', 'not appealed') as outcome, "
        "count() as denials, sum(t.denied_amount) as denied_amount, sum(t.is_appealed) as appealed, "
        "sum(t.is_overturned) as overturned, sum(t.recovered_amount) as recovered, "
        "sum(t.written_off_amount) as written_off "
        "from marts.fct_claim_denials as t left join marts.dim_payer as y on y.payer_id = t.payer_id "
        f"where {condition} group by reason, payer, outcome order by reason, payer, outcome", params)


def claim_timeliness(f: Filters) -> pd.DataFrame:
    """Days to submit and to payment by payer (median and mean), for services in the period."""
    condition, params = where(f, CLAIMS)
    return query(
        "select y.payer_name as payer, count() as claims, "
        "quantileExactIf(0.5)(t.days_to_submit, t.days_to_submit is not null) as median_days_to_submit, "
        "avgIf(t.days_to_submit, t.days_to_submit is not null) as mean_days_to_submit, "
        "quantileExactIf(0.5)(t.days_to_payment, t.days_to_payment is not null) as median_days_to_payment, "
        "avgIf(t.days_to_payment, t.days_to_payment is not null) as mean_days_to_payment, "
        "countIf(t.days_to_payment is not null) as paid_claims "
        "from marts.fct_claims as t left join marts.dim_payer as y on y.payer_id = t.payer_id "
        f"where {condition} and t.is_void = 0 group by payer order by payer", params)


def days_to_payment_histogram(f: Filters) -> pd.DataFrame:
    condition, params = where(f, CLAIMS)
    return query(
        "select multiIf(d <= 7, '0-7', d <= 14, '8-14', d <= 30, '15-30', d <= 60, '31-60', '61+') as days, "
        "count() as claims from (select t.days_to_payment as d from marts.fct_claims as t "
        f"where {condition} and t.days_to_payment is not null) group by days", params)


def collections_monthly(f: Filters) -> pd.DataFrame:
    """Monthly sums behind the collection and claim rates (fct_kpi_daily: facility and date only)."""
    condition, params = where(f, KPI)
    return query(
        "select toStartOfMonth(t.date) as month, max(t.date) as last_day, sum(t.payments_received) as payments, "
        "sum(t.gross_charges) as gross_charges, sum(t.contractual_adjustments) as contractual_adjustments, "
        "sum(t.claims_clean) as claims_clean, sum(t.claims_first_submitted) as claims_first_submitted, "
        "sum(t.claims_first_pass_paid) as claims_first_pass_paid, "
        "sum(t.claims_first_adjudicated) as claims_first_adjudicated "
        f"from marts.fct_kpi_daily as t where {condition} group by month order by month", params)


# -- scheduling and productivity -------------------------------------------------------------------

def utilisation_by_weekday(f: Filters) -> pd.DataFrame:
    """Booked (completed + checked-in) ÷ available minutes per provider and weekday."""
    condition, params = where(f, PRODUCTIVITY)
    return query(
        "select p.provider_name as provider, toDayOfWeek(t.date) as weekday, "
        "sum(t.booked_minutes) as booked_minutes, sum(t.available_minutes) as available_minutes, "
        "booked_minutes / nullIf(available_minutes, 0) as utilisation "
        "from marts.fct_provider_productivity as t left join marts.dim_provider as p on p.provider_id = t.provider_id "
        f"where {condition} group by provider, weekday having available_minutes > 0 or booked_minutes > 0 "
        "order by provider, weekday", params)


def booked_by_hour(f: Filters) -> pd.DataFrame:
    """Kept appointment minutes per provider and local start hour (availability is daily in the marts)."""
    condition, params = where(f, APPOINTMENTS)
    return query(
        "select p.provider_name as provider, t.start_hour as hour, "
        "sumIf(t.duration_minutes, t.is_completed = 1 or t.is_checked_in = 1) as booked_minutes, "
        "count() as appointments, sum(t.is_no_show) as no_shows "
        "from marts.fct_appointments as t left join marts.dim_provider as p on p.provider_id = t.provider_id "
        f"where {condition} group by provider, hour order by provider, hour", params)


def no_show_by_provider(f: Filters) -> pd.DataFrame:
    condition, params = where(f, APPOINTMENTS)
    return query(
        "select p.provider_name as provider, sum(t.is_no_show) as no_shows, "
        "sum(t.is_completed + t.is_checked_in + t.is_no_show) as kept_or_missed, "
        "sum(t.is_late_cancel) as late_cancels, no_shows / nullIf(kept_or_missed, 0) as no_show_rate "
        "from marts.fct_appointments as t left join marts.dim_provider as p on p.provider_id = t.provider_id "
        f"where {condition} group by provider having kept_or_missed > 0 order by provider", params)


def upcoming_risk(f: Filters, from_day: date, limit: int = 100) -> pd.DataFrame:
    """Open appointments from ``from_day`` on with their latest no-show probability. No patient fields."""
    condition, params = where(f, APPOINTMENTS, dates=False)
    params["from_day"] = from_day
    return query(
        "select toString(t.appointment_id) as appointment_id, t.starts_at as starts_at_utc, t.start_date as date, "
        "t.start_hour as hour, p.provider_name as provider, t.appointment_type as type, s.probability as risk "
        "from marts.fct_appointments as t "
        "inner join ml.latest_no_show as s on s.appointment_id = t.appointment_id "
        "left join marts.dim_provider as p on p.provider_id = t.provider_id "
        "where t.start_date >= {from_day:Date} and t.appointment_status in ('scheduled', 'confirmed') "
        f"and {condition} order by risk desc, t.starts_at limit {int(limit)}", params)


def productivity(f: Filters) -> pd.DataFrame:
    """Visits, wRVUs, charges and payments per provider for the period."""
    condition, params = where(f, PRODUCTIVITY)
    return query(
        "select p.provider_name as provider, p.specialty as specialty, sum(t.visits) as visits, "
        "sum(t.is_day_worked) as days_worked, sum(t.wrvus) as wrvus, sum(t.gross_charges) as gross_charges, "
        "sum(t.payments_received) as payments, sum(t.booked_minutes) as booked_minutes, "
        "sum(t.available_minutes) as available_minutes "
        "from marts.fct_provider_productivity as t left join marts.dim_provider as p on p.provider_id = t.provider_id "
        f"where {condition} and t.provider_id != toUUID('{UNKNOWN_KEY}') group by provider, specialty "
        "having visits > 0 or available_minutes > 0 order by provider", params)


# -- forecasts and model cards ----------------------------------------------------------------------

def model_metrics() -> pd.DataFrame:
    """Every metric of each model's latest version (ml.model_metrics)."""
    return query(
        "select model, version, split, metric, value, created_at from ml.model_metrics final "
        "where (model, version) in (select model, max(version) from ml.model_metrics group by model) "
        "order by model, split, metric")


@st.cache_data(ttl=TTL, show_spinner=False)
def model_card(name: str) -> dict[str, Any] | None:
    """The latest registry card (``PMS_DATA_DIR/models/<name>/<version>/card.json``), if this host has it."""
    folder = Path(get_settings().pms_data_dir) / "models" / name
    if not folder.is_dir():
        return None
    versions = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
                      and (p / "card.json").is_file())
    if not versions:
        return None
    return json.loads((folder / versions[-1] / "card.json").read_text())


# -- custom dashboards ----------------------------------------------------------------------------

def custom(spec: DashboardSpec, f: Filters) -> pd.DataFrame:
    """A custom dashboard's rows: SQL from the catalog's whitelist, values bound (catalog.build_query)."""
    sql, params = build_query(spec, f, get_dashboard_settings().dashboards_builder_max_rows)
    return query(sql, params)


def distinct_values(mart_key: str, dimension_key: str) -> list[str]:
    """The values a builder filter offers for one whitelisted dimension."""
    return [str(v) for v in query(distinct_values_query(mart_key, dimension_key))["value"]]
