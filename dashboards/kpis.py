"""Rates from the additive sums of ``marts.fct_kpi_daily``, exactly as KPIS.md defines them.

A period's rate is a ratio of the period's sums, never an average of daily rates; the A/R columns
are snapshots taken on the period's last day. The API's ``reports/kpis`` computes the same figures
(its code is not imported: dashboards never import ops_api), and the tests hold both to the mart.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd

AGING_BUCKETS = ("0-30", "31-60", "61-90", "91-120", "121+")  # days since the date of service
DAYS_IN_AR_WINDOW = 90
NET_COLLECTION_MATURITY_DAYS = 120


def ratio(numerator, denominator) -> float | None:
    """numerator ÷ denominator, or None when there is nothing to divide by (shown as "–")."""
    if denominator is None or not Decimal(str(denominator)):
        return None
    return float(Decimal(str(numerator)) / Decimal(str(denominator)))


def rates(s: dict) -> dict[str, float | None]:
    """The KPI rates of KPIS.md from one period's sums (``data.kpi_sums``)."""
    kept_or_missed = s["appointments_completed"] + s["appointments_checked_in"] + s["appointments_no_show"]
    daily_charges = Decimal(str(s["charges_90_days"])) / DAYS_IN_AR_WINDOW
    return {
        "days_in_ar": ratio(s["ar_total"], daily_charges) if daily_charges else None,
        "pct_ar_over_90": ratio(Decimal(str(s["ar_91_120"])) + Decimal(str(s["ar_over_120"])), s["ar_total"]),
        "pct_ar_over_120": ratio(s["ar_over_120"], s["ar_total"]),
        "clean_claim_rate": ratio(s["claims_clean"], s["claims_first_submitted"]),
        "denial_rate_count": ratio(s["claims_initially_denied"], s["claims_first_adjudicated"]),
        "denial_rate_amount": ratio(s["charges_initially_denied"], s["charges_first_adjudicated"]),
        "first_pass_resolution_rate": ratio(s["claims_first_pass_paid"], s["claims_first_adjudicated"]),
        "gross_collection_rate": ratio(s["payments_received"], s["gross_charges"]),
        "net_collection_rate": ratio(s["payments_received"],
                                     Decimal(str(s["gross_charges"])) - Decimal(str(s["contractual_adjustments"]))),
        "no_show_rate": ratio(s["appointments_no_show"], kept_or_missed),
        "late_cancel_rate": ratio(s["appointments_late_cancelled"], kept_or_missed + s["appointments_late_cancelled"]),
    }


def change(current, previous) -> float | None:
    """Relative change current vs previous (None when the previous period had nothing)."""
    if previous is None or current is None or not Decimal(str(previous)):
        return None
    return float((Decimal(str(current)) - Decimal(str(previous))) / abs(Decimal(str(previous))))


def ratios(frame: pd.DataFrame, **pairs: tuple[str, str]) -> pd.DataFrame:
    """``frame`` plus one column per ``name=(numerator, denominator)``, each a row-wise ``ratio``."""
    return frame.assign(**{name: [ratio(n, d) for n, d in zip(frame[num], frame[den], strict=True)]
                           for name, (num, den) in pairs.items()})


def denial_summary(denials: pd.DataFrame) -> pd.DataFrame:
    """Denials per CARC reason and payer with appeal rate (appealed ÷ denials) and overturn rate
    (overturned ÷ appealed), from ``data.denials`` (which also splits by outcome)."""
    summary = denials.groupby(["reason", "payer"], as_index=False)[
        ["denials", "denied_amount", "appealed", "overturned", "recovered", "written_off"]].sum()
    summary = ratios(summary, appeal_rate=("appealed", "denials"), overturn_rate=("overturned", "appealed"))
    return summary.sort_values(["denials", "reason"], ascending=[False, True], ignore_index=True)


def monthly_rates(monthly: pd.DataFrame, last_day: date) -> pd.DataFrame:
    """Collection and claim rates per month from ``data.collections_monthly``; a month whose services
    are under 120 days old at ``last_day`` is provisional for the net collection rate (KPIS.md)."""
    out = monthly.assign(net_charges=[Decimal(str(g)) - Decimal(str(c)) for g, c in
                                      zip(monthly["gross_charges"], monthly["contractual_adjustments"], strict=True)])
    out = ratios(out, gross_collection_rate=("payments", "gross_charges"), net_collection_rate=("payments", "net_charges"),
                 clean_claim_rate=("claims_clean", "claims_first_submitted"),
                 first_pass_rate=("claims_first_pass_paid", "claims_first_adjudicated"))
    ages = [(last_day - pd.Timestamp(d).date()).days for d in out["last_day"]]
    return out.assign(provisional=[age < NET_COLLECTION_MATURITY_DAYS for age in ages])


def provider_rates(productivity: pd.DataFrame) -> pd.DataFrame:
    """Visits per day worked, wRVUs per visit and utilisation per provider (``data.productivity``)."""
    return ratios(productivity, visits_per_day=("visits", "days_worked"), wrvus_per_visit=("wrvus", "visits"),
                  utilisation=("booked_minutes", "available_minutes"))


def share_within(frame: pd.DataFrame, value: str, group: str) -> pd.Series:
    """Each row's ``value`` as a share of its ``group``'s total."""
    totals = frame.groupby(group)[value].transform("sum")
    return pd.Series([ratio(v, t) for v, t in zip(frame[value], totals, strict=True)], index=frame.index)


def aging_table(aging: pd.DataFrame) -> pd.DataFrame:
    """A/R per payer (rows) and aging bucket (columns, in age order) with a total (``data.ar_by_payer``)."""
    table = aging.groupby(["payer", "bucket"])["balance"].sum().unstack("bucket")
    table = table.reindex(columns=[b for b in AGING_BUCKETS if b in table.columns]).fillna(Decimal("0.00"))
    table["Total"] = table.sum(axis=1)
    return table


# -- model cards (ml.model_metrics rows: model, version, split, metric, value) ---------------------------

MASE_METHODS = {"mase_model": "Model", "mase_seasonal_naive": "Seasonal naive", "mase_moving_average": "Moving average"}


def metric_values(metrics: pd.DataFrame) -> dict[str, float]:
    return dict(zip(metrics["metric"], metrics["value"], strict=True))


def backtest_methods(values: dict[str, float]) -> pd.DataFrame:
    """The backtest MASE of the model and its baselines, one row each (columns method, mase)."""
    return pd.DataFrame([(label, values[key]) for key, label in MASE_METHODS.items() if key in values],
                        columns=["method", "mase"])


def reliability_deciles(metrics: pd.DataFrame) -> pd.DataFrame:
    """The no-show model's reliability curve, stored as ``reliability_<bin>_<field>`` metrics by ml/
    (columns bin, n, mean_predicted, observed_rate)."""
    rows = metrics[metrics["metric"].str.startswith("reliability_")]
    if rows.empty:
        return pd.DataFrame(columns=["bin", "n", "mean_predicted", "observed_rate"])
    parts = rows["metric"].str.extract(r"reliability_(\d+)_(.+)")
    return (rows.assign(bin=parts[0].astype(int), field=parts[1])
            .pivot_table(index="bin", columns="field", values="value").reset_index())
