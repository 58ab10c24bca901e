"""The whitelist behind custom dashboards: which marts, measures and dimensions a user may combine.

The builder page has no free SQL. A saved dashboard is only keys into this registry; ``build_query``
turns them into SQL from the expressions written here, and every value a user typed or picked
(filter values, dates, ids) is a bound parameter. A key that is not in the registry is refused,
so a tampered or outdated saved definition fails with a message instead of reaching the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboards.filters import Dims, Filters, where

CHART_TYPES = ("bar", "line", "area", "heatmap", "table")
MAX_DIMENSIONS = 2
MAX_MEASURES = 4


class CatalogError(ValueError):
    """A custom-dashboard definition that the registry does not allow."""


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    sql: str  # an aggregate over the mart's columns (alias ``t``), or over ``_date``/``_snapshot``
    fmt: str = "number"  # money | count | rate | number | days
    snapshot: bool = False  # a balance at the end of each group's period: never summed over days


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str
    sql: str
    join: str | None = None  # key of JOINS
    time: bool = False
    filterable: bool = False  # offered as a value filter in the builder


JOINS = {
    "facility": "left join marts.dim_facility as f on f.facility_id = t.facility_id",
    "provider": "left join marts.dim_provider as p on p.provider_id = t.provider_id",
    "payer": "left join marts.dim_payer as y on y.payer_id = t.payer_id",
}


@dataclass(frozen=True)
class Mart:
    key: str
    label: str
    description: str
    dims: Dims  # columns the global filters apply to
    measures: tuple[Measure, ...]
    dimensions: tuple[Dimension, ...]
    measure_index: dict[str, Measure] = field(init=False, repr=False, compare=False)
    dimension_index: dict[str, Dimension] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "measure_index", {m.key: m for m in self.measures})
        object.__setattr__(self, "dimension_index", {d.key: d for d in self.dimensions})

    @property
    def table(self) -> str:
        return f"marts.{self.key}"

    def measure(self, key: str) -> Measure:
        try:
            return self.measure_index[key]
        except KeyError:
            raise CatalogError(f"{self.label} has no measure {key!r}") from None

    def dimension(self, key: str) -> Dimension:
        try:
            return self.dimension_index[key]
        except KeyError:
            raise CatalogError(f"{self.label} has no dimension {key!r}") from None


def _time(column: str) -> tuple[Dimension, ...]:
    return (
        Dimension("day", "Day", f"t.{column}", time=True),
        Dimension("week", "Week", f"toMonday(t.{column})", time=True),
        Dimension("month", "Month", f"toStartOfMonth(t.{column})", time=True),
    )


FACILITY = Dimension("facility", "Facility", "f.facility_name", join="facility")
PROVIDER = Dimension("provider", "Provider", "p.provider_name", join="provider")
PAYER = Dimension("payer", "Payer", "y.payer_name", join="payer")


def _category(column: str, label: str) -> Dimension:
    return Dimension(column, label, f"toString(t.{column})", filterable=True)


def _sum(column: str, label: str, fmt: str = "money") -> Measure:
    return Measure(column, label, f"sum(t.{column})", fmt)


def _ratio(key: str, label: str, numerator: str, denominator: str) -> Measure:
    return Measure(key, label, f"sum({numerator}) / nullIf(sum({denominator}), 0)", "rate")


def _snapshot(column: str, label: str, fmt: str = "money") -> Measure:
    return Measure(column, label, f"sumIf(t.{column}, _date = _snapshot)", fmt, snapshot=True)


MARTS: dict[str, Mart] = {m.key: m for m in (
    Mart(
        "fct_kpi_daily", "Daily KPIs", "The KPI mart: one row per day and facility (KPIS.md).",
        Dims(date="t.date", facility="t.facility_id", provider=None, payer=None),
        measures=(
            _sum("payments_received", "Payments received"),
            _sum("payments_insurance", "Insurance payments"),
            _sum("payments_patient", "Patient payments"),
            _sum("gross_charges", "Gross charges"),
            _sum("contractual_adjustments", "Contractual adjustments"),
            _sum("visits", "Visits", "count"),
            _sum("wrvus", "wRVUs", "number"),
            _sum("claims_first_submitted", "Claims first submitted", "count"),
            _sum("claims_first_adjudicated", "Claims first adjudicated", "count"),
            _sum("claims_initially_denied", "Claims initially denied", "count"),
            _sum("appointments_scheduled", "Appointments", "count"),
            _sum("appointments_completed", "Appointments completed", "count"),
            _sum("appointments_no_show", "No-shows", "count"),
            _sum("appointments_cancelled", "Cancellations", "count"),
            _ratio("clean_claim_rate", "Clean claim rate", "t.claims_clean", "t.claims_first_submitted"),
            _ratio("denial_rate", "Initial denial rate", "t.claims_initially_denied", "t.claims_first_adjudicated"),
            _ratio("first_pass_rate", "First-pass resolution rate", "t.claims_first_pass_paid",
                   "t.claims_first_adjudicated"),
            _ratio("no_show_rate", "No-show rate", "t.appointments_no_show",
                   "t.appointments_completed + t.appointments_checked_in + t.appointments_no_show"),
            _ratio("gross_collection_rate", "Gross collection rate", "t.payments_received", "t.gross_charges"),
            _snapshot("ar_total", "A/R balance (end of period)"),
            _snapshot("ar_insurance", "Insurance A/R (end of period)"),
            _snapshot("ar_patient", "Patient A/R (end of period)"),
            _snapshot("ar_over_120", "A/R over 120 days (end of period)"),
        ),
        dimensions=(*_time("date"), FACILITY),
    ),
    Mart(
        "fct_payments", "Payments", "One row per payment received, on the local day it was received.",
        Dims(date="t.received_date", facility="t.facility_id", provider="t.provider_id", payer="t.payer_id"),
        measures=(
            Measure("amount", "Payments", "sum(t.amount)", "money"),
            Measure("payments", "Number of payments", "count()", "count"),
            Measure("average_payment", "Average payment", "avg(t.amount)", "money"),
            Measure("days_from_service", "Median days from service", "quantileExact(0.5)(t.days_from_service)",
                    "days"),
        ),
        dimensions=(*_time("received_date"), FACILITY, PROVIDER, PAYER,
                    _category("payment_source", "Source"), _category("payment_method", "Method")),
    ),
    Mart(
        "fct_claims", "Claims", "One row per claim, by date of service, with its lifecycle and money to date.",
        Dims(date="t.date_of_service", facility="t.facility_id", provider="t.provider_id", payer="t.payer_id"),
        measures=(
            Measure("claims", "Claims", "count()", "count"),
            Measure("total_charge", "Charges", "sum(t.total_charge)", "money"),
            Measure("insurance_paid", "Insurance paid", "sum(t.insurance_paid)", "money"),
            Measure("patient_paid", "Patient paid", "sum(t.patient_paid)", "money"),
            Measure("claim_balance", "Open balance", "sum(t.claim_balance)", "money"),
            Measure("denial_rate", "Initial denial rate",
                    "sum(t.is_initial_denial) / nullIf(countIf(t.first_adjudicated_date is not null), 0)", "rate"),
            Measure("clean_claim_rate", "Clean claim rate",
                    "sum(t.is_clean_claim) / nullIf(countIf(t.first_submitted_date is not null), 0)", "rate"),
            Measure("days_to_submit", "Median days to submit", "quantileExact(0.5)(t.days_to_submit)", "days"),
            Measure("days_to_payment", "Median days to payment", "quantileExact(0.5)(t.days_to_payment)", "days"),
        ),
        dimensions=(*_time("date_of_service"), FACILITY, PROVIDER, PAYER, _category("claim_status", "Claim status")),
    ),
    Mart(
        "fct_claim_denials", "Denials", "One row per denial, with its CARC reason and what followed.",
        Dims(date="t.denied_date", facility="t.facility_id", provider="t.provider_id", payer="t.payer_id"),
        measures=(
            Measure("denials", "Denials", "count()", "count"),
            Measure("denied_amount", "Denied amount", "sum(t.denied_amount)", "money"),
            Measure("appealed", "Appealed", "sum(t.is_appealed)", "count"),
            Measure("overturned", "Overturned", "sum(t.is_overturned)", "count"),
            Measure("appeal_rate", "Appeal rate", "sum(t.is_appealed) / nullIf(count(), 0)", "rate"),
            Measure("overturn_rate", "Overturn rate", "sum(t.is_overturned) / nullIf(sum(t.is_appealed), 0)", "rate"),
            Measure("recovered_amount", "Recovered", "sum(t.recovered_amount)", "money"),
            Measure("written_off_amount", "Written off", "sum(t.written_off_amount)", "money"),
        ),
        dimensions=(*_time("denied_date"), FACILITY, PROVIDER, PAYER,
                    _category("carc_group_code", "CARC group"), _category("carc_reason_code", "CARC reason"),
                    _category("current_claim_status", "Current claim status")),
    ),
    Mart(
        "fct_appointments", "Appointments", "One row per appointment with its final status.",
        Dims(date="t.start_date", facility="t.facility_id", provider="t.provider_id", payer=None),
        measures=(
            Measure("appointments", "Appointments", "count()", "count"),
            Measure("completed", "Completed", "sum(t.is_completed)", "count"),
            Measure("no_shows", "No-shows", "sum(t.is_no_show)", "count"),
            Measure("cancelled", "Cancelled", "sum(t.is_cancelled)", "count"),
            Measure("no_show_rate", "No-show rate",
                    "sum(t.is_no_show) / nullIf(sum(t.is_completed + t.is_checked_in + t.is_no_show), 0)", "rate"),
            Measure("late_cancel_rate", "Late cancel rate",
                    "sum(t.is_late_cancel) / nullIf(sum(t.is_completed + t.is_checked_in + t.is_no_show"
                    " + t.is_late_cancel), 0)", "rate"),
            Measure("lead_time_days", "Median lead time (days)", "quantileExact(0.5)(t.lead_time_days)", "days"),
        ),
        dimensions=(*_time("start_date"), FACILITY, PROVIDER,
                    _category("appointment_type", "Appointment type"),
                    _category("appointment_status", "Status"),
                    Dimension("start_weekday", "Weekday", "t.start_weekday"),
                    Dimension("start_hour", "Hour", "t.start_hour")),
    ),
    Mart(
        "fct_provider_productivity", "Provider productivity", "One row per provider and day.",
        Dims(date="t.date", facility=None, provider="t.provider_id", payer=None, facility_via_provider=True),
        measures=(
            Measure("visits", "Visits", "sum(t.visits)", "count"),
            Measure("wrvus", "wRVUs", "sum(t.wrvus)", "number"),
            Measure("gross_charges", "Gross charges", "sum(t.gross_charges)", "money"),
            Measure("payments_received", "Payments", "sum(t.payments_received)", "money"),
            Measure("days_worked", "Days worked", "sum(t.is_day_worked)", "count"),
            Measure("utilisation", "Utilisation", "sum(t.booked_minutes) / nullIf(sum(t.available_minutes), 0)",
                    "rate"),
            Measure("wrvus_per_visit", "wRVUs per visit", "sum(t.wrvus) / nullIf(sum(t.visits), 0)", "number"),
        ),
        dimensions=(*_time("date"), PROVIDER),
    ),
    Mart(
        "fct_ar_aging_daily", "A/R aging", "A/R at the end of each day by facility, provider, payer, bucket.",
        Dims(date="t.date", facility="t.facility_id", provider="t.provider_id", payer="t.payer_id"),
        measures=(
            _snapshot("ar_balance", "A/R balance (end of period)"),
            _snapshot("credit_balance", "Credit balance (end of period)"),
            _snapshot("open_accounts", "Open accounts (end of period)", "count"),
        ),
        dimensions=(*_time("date"), FACILITY, PROVIDER, PAYER,
                    _category("aging_bucket", "Aging bucket"), _category("responsibility", "Responsibility")),
    ),
)}


@dataclass(frozen=True)
class DashboardSpec:
    """A custom dashboard: keys into the registry, never SQL."""

    mart: str
    measures: tuple[str, ...]
    dimensions: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (dimension key, allowed values)
    chart: str = "bar"

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "mart": self.mart, "measures": list(self.measures),
                "dimensions": list(self.dimensions), "filters": {k: list(v) for k, v in self.filters},
                "chart": self.chart}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DashboardSpec:
        try:
            spec = cls(mart=str(data["mart"]), measures=tuple(map(str, data["measures"])),
                       dimensions=tuple(map(str, data.get("dimensions", ()))),
                       filters=tuple(sorted((str(k), tuple(map(str, v))) for k, v in data.get("filters", {}).items())),
                       chart=str(data.get("chart", "bar")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise CatalogError(f"not a dashboard definition: {exc}") from None
        validate(spec)
        return spec


def mart(key: str) -> Mart:
    try:
        return MARTS[key]
    except KeyError:
        raise CatalogError(f"{key!r} is not an available mart") from None


def validate(spec: DashboardSpec) -> Mart:
    """Check every key against the registry and the chart's needs; return the mart."""
    m = mart(spec.mart)
    if not spec.measures:
        raise CatalogError("pick at least one measure")
    if len(spec.measures) > MAX_MEASURES:
        raise CatalogError(f"pick at most {MAX_MEASURES} measures")
    if len(spec.dimensions) > MAX_DIMENSIONS:
        raise CatalogError(f"pick at most {MAX_DIMENSIONS} dimensions")
    if len(set(spec.dimensions)) != len(spec.dimensions) or len(set(spec.measures)) != len(spec.measures):
        raise CatalogError("a measure or dimension is picked twice")
    for key in spec.measures:
        m.measure(key)
    for key in spec.dimensions:
        m.dimension(key)
    for key, values in spec.filters:
        if not m.dimension(key).filterable:
            raise CatalogError(f"{m.dimension(key).label} cannot be filtered on")
        if not values:
            raise CatalogError(f"the filter on {m.dimension(key).label} has no values")
    if spec.chart not in CHART_TYPES:
        raise CatalogError(f"unknown chart type {spec.chart!r}")
    if spec.chart == "heatmap" and (len(spec.dimensions) != 2 or len(spec.measures) != 1):
        raise CatalogError("a heatmap needs exactly two dimensions and one measure")
    if spec.chart in ("bar", "line", "area") and not spec.dimensions:
        raise CatalogError(f"a {spec.chart} chart needs a dimension")
    if spec.chart in ("bar", "line", "area") and len(spec.dimensions) == 2 and len(spec.measures) > 1:
        raise CatalogError("with two dimensions a chart shows one measure; pick one or use a table")
    return m


def build_query(spec: DashboardSpec, f: Filters, limit: int) -> tuple[str, dict]:
    """SQL for a custom dashboard: identifiers from the registry, values as parameters.

    The inner query applies the filters and computes the dimensions; when a snapshot measure is
    picked it also finds each group's last day (``_snapshot``) so balances are read on that day
    instead of summed over days. The outer query aggregates per dimension.
    """
    m = validate(spec)
    dims = [m.dimension(k) for k in spec.dimensions]
    measures = [m.measure(k) for k in spec.measures]
    joins = [JOINS[j] for j in dict.fromkeys(d.join for d in (*dims, *(m.dimension(k) for k, _ in spec.filters))
                                             if d.join)]
    condition, params = where(f, m.dims)
    for i, (key, values) in enumerate(spec.filters):
        condition += f" and {m.dimension(key).sql} in {{filter_{i}:Array(String)}}"
        params[f"filter_{i}"] = list(values)
    dim_columns = [f"{d.sql} as _d{i}" for i, d in enumerate(dims)]
    partition = ", ".join(f"_d{i}" for i in range(len(dims)))
    window = f"partition by {partition}" if dims else ""
    snapshot = f", max({m.dims.date}) over ({window}) as _snapshot" if any(x.snapshot for x in measures) else ""
    inner = (f"select t.*, {m.dims.date} as _date{''.join(', ' + c for c in dim_columns)}{snapshot} "
             f"from {m.table} as t {' '.join(joins)} where {condition}")
    outer_dims = [f"_d{i} as `{d.label}`" for i, d in enumerate(dims)]
    outer_measures = [f"{x.sql} as `{x.label}`" for x in measures]
    group = f" group by {partition} order by {partition}" if dims else ""
    sql = f"select {', '.join(outer_dims + outer_measures)} from ({inner}) as t{group} limit {int(limit)}"
    return sql, params


def distinct_values_query(mart_key: str, dimension_key: str, limit: int = 200) -> str:
    """SQL for a filterable dimension's values (from the registry: no user text in it)."""
    m = mart(mart_key)
    d = m.dimension(dimension_key)
    if not d.filterable:
        raise CatalogError(f"{d.label} cannot be filtered on")
    join = JOINS[d.join] if d.join else ""
    return f"select distinct {d.sql} as value from {m.table} as t {join} order by value limit {int(limit)}"
