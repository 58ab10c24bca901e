"""Model inputs: the one place that reads the marts, and the leakage-safe no-show features.

Everything downstream works on pandas frames, so tests and the Kaggle adapter feed
``no_show_features`` directly and only ``read_mart`` touches ClickHouse.

The appointment frame (``APPOINTMENT_COLUMNS``) is the contract between sources and features:
timestamps are tz-aware UTC, ids are strings, missing categories are NA. ``outcome_known_at`` is
when the appointment's final status was surely recorded (its end, and at least an hour after its
start, since a no-show is marked during the session); it is the booking cut-off's other half: an appointment's history counts only other appointments whose ``outcome_known_at`` is
strictly before its ``booked_at``. So a feature never sees an outcome that the front desk could
not have seen when the appointment was booked, and never anything after its start.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HELD = ("completed", "checked_in")
NO_SHOW = "no_show"
CANCELLED = "cancelled"
FINAL = (*HELD, NO_SHOW, CANCELLED)

APPOINTMENT_COLUMNS = (
    "appointment_id",
    "patient_id",
    "provider_id",
    "facility_id",
    "appointment_type",
    "payer_kind",
    "age_band",
    "booked_at",
    "starts_at",
    "outcome_known_at",
    "lead_days",  # facility-local calendar days from booking to start
    "start_weekday",  # 0 = Monday, facility-local
    "start_hour",  # facility-local; NaN when the source has no time of day
    "status",
    "reminder_sent",
)
CATEGORICAL = ["appointment_type", "provider_id", "facility_id", "payer_kind", "age_band"]
NUMERIC = [
    "lead_days",
    "weekday",
    "start_hour",
    "reminder_sent",
    "prior_bookings",
    "pending_bookings",
    "prior_outcomes",
    "prior_no_shows",
    "prior_cancellations",
    "prior_no_show_rate",
    "prior_cancel_rate",
    "days_since_last_visit",
]
FEATURES = CATEGORICAL + NUMERIC
_DAY = np.timedelta64(1, "D")

MARTS = "marts"
# Column names follow the dbt marts (dbt/models/marts/**); change them here only. dim_patient's
# age band and primary payer kind are as of the build, not of the booking (type-1 dimensions): a
# known, small compromise, since neither is an outcome.
MART_SQL = {
    "fct_appointments": """
        select
            toString(a.appointment_id) as appointment_id,
            toString(a.patient_id) as patient_id,
            toString(a.provider_id) as provider_id,
            toString(a.facility_id) as facility_id,
            a.appointment_type as appointment_type,
            p.primary_payer_kind as payer_kind,
            p.age_band as age_band,
            a.booked_at as booked_at,
            a.starts_at as starts_at,
            greatest(coalesce(a.ends_at, a.starts_at), a.starts_at + interval 1 hour) as outcome_known_at,
            a.lead_time_days as lead_days,
            a.start_weekday as start_weekday,
            a.start_hour as start_hour,
            a.appointment_status as status,
            a.reminder_sent as reminder_sent
        from {marts}.fct_appointments as a
        left join {marts}.dim_patient as p on a.patient_id = p.patient_id
        settings join_use_nulls = 1
    """,
    "fct_payments": """
        select received_date as payment_date, toString(facility_id) as facility_id, sum(amount) as amount
        from {marts}.fct_payments
        group by received_date, facility_id
    """,
}


def read_mart(client, name: str, marts: str = MARTS) -> pd.DataFrame:
    """Run the query for one mart (``MART_SQL``): appointments in the contract's shape
    (``normalise``), payments as (payment_date, facility_id, amount). ``marts`` names the
    database (tests use a throwaway one)."""
    frame = client.query_arrow(MART_SQL[name].format(marts=marts)).to_pandas()
    if name == "fct_appointments":
        return normalise(frame)
    frame["payment_date"] = pd.to_datetime(frame["payment_date"])
    frame["amount"] = frame["amount"].astype(float)  # a model input, not a ledger: float is fine
    return frame


def normalise(appts: pd.DataFrame) -> pd.DataFrame:
    """Check the contract and fix dtypes: str categories with NA, UTC ns timestamps, floats."""
    missing = [c for c in APPOINTMENT_COLUMNS if c not in appts.columns]
    if missing:
        raise ValueError(f"appointment frame lacks {missing}")
    out = appts.copy()
    for col in ("appointment_id", "patient_id", "status", *CATEGORICAL):
        out[col] = out[col].astype("str").where(out[col].notna())
    for col in ("booked_at", "starts_at", "outcome_known_at"):
        out[col] = pd.to_datetime(out[col], utc=True).dt.as_unit("ns")
    for col in ("lead_days", "start_weekday", "start_hour", "reminder_sent"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    # An outcome cannot be known before the booking that created it.
    out["outcome_known_at"] = out["outcome_known_at"].where(out["outcome_known_at"] > out["booked_at"], out["booked_at"])
    return out


def no_show_labels(appts: pd.DataFrame) -> pd.Series:
    """1 = no-show, 0 = held (completed or checked in), NA = cancelled or not yet happened.

    Same denominator as the KPI no-show rate (KPIS.md): cancellations are neither.
    """
    status = appts["status"]
    label = pd.Series(np.nan, index=appts.index)
    label[status.isin(HELD)] = 0.0
    label[status == NO_SHOW] = 1.0
    return label


def no_show_features(appts: pd.DataFrame) -> pd.DataFrame:
    """One row of ``FEATURES`` per appointment (same index), using only data known at booking.

    Vectorised: patient history is a cumulative sum over outcome events joined back with
    ``merge_asof`` on booking time, so cost is O(n log n) in appointments.
    """
    index = appts.index  # any index, even with duplicates: work by position, restore at the end
    appts = normalise(appts).reset_index(drop=True)
    out = pd.DataFrame(index=appts.index)
    for col in CATEGORICAL:
        out[col] = appts[col]
    out["lead_days"] = appts["lead_days"].clip(lower=0)
    out["weekday"] = appts["start_weekday"]
    out["start_hour"] = appts["start_hour"]
    out["reminder_sent"] = appts["reminder_sent"]

    history = _history_at_booking(appts)
    out = out.join(history)
    out["pending_bookings"] = out["prior_bookings"] - out["prior_outcomes"]
    attended = out["prior_no_shows"] + history["prior_held"]
    out["prior_no_show_rate"] = (out["prior_no_shows"] / attended).where(attended > 0)
    out["prior_cancel_rate"] = (out["prior_cancellations"] / out["prior_outcomes"]).where(out["prior_outcomes"] > 0)
    last_visit = pd.to_datetime(history["last_visit_ns"], utc=True)
    out["days_since_last_visit"] = (appts["starts_at"] - last_visit) / _DAY
    return out[FEATURES].set_axis(index)


def _history_at_booking(appts: pd.DataFrame) -> pd.DataFrame:
    """Per appointment: the patient's bookings and outcomes strictly before its ``booked_at``."""
    patient = pd.Series(pd.factorize(appts["patient_id"])[0], index=appts.index)
    status = appts["status"]
    final = status.isin(FINAL)
    events = pd.DataFrame(
        {
            "patient": patient[final],
            "at": appts.loc[final, "outcome_known_at"],
            "prior_outcomes": 1.0,
            "prior_no_shows": (status[final] == NO_SHOW).astype(float),
            "prior_cancellations": (status[final] == CANCELLED).astype(float),
            "prior_held": status[final].isin(HELD).astype(float),
            "last_visit_ns": appts.loc[final, "starts_at"].astype("int64").where(status[final].isin(HELD)).astype(float),
        }
    )
    events = _cumulate(events, sums=["prior_outcomes", "prior_no_shows", "prior_cancellations", "prior_held"], maxes=["last_visit_ns"])
    bookings = _cumulate(pd.DataFrame({"patient": patient, "at": appts["booked_at"], "prior_bookings": 1.0}), sums=["prior_bookings"])

    left = pd.DataFrame({"patient": patient, "at": appts["booked_at"], "row": np.arange(len(appts))}).sort_values("at", kind="stable")
    for right in (events, bookings):
        left = pd.merge_asof(left, right, on="at", by="patient", direction="backward", allow_exact_matches=False)
    left = left.sort_values("row")
    counts = ["prior_bookings", "prior_outcomes", "prior_no_shows", "prior_cancellations", "prior_held"]
    result = left[counts].fillna(0.0)
    result["last_visit_ns"] = left["last_visit_ns"]
    result.index = appts.index
    return result


def _cumulate(events: pd.DataFrame, sums: list[str], maxes: tuple | list = ()) -> pd.DataFrame:
    """Running per-patient totals in time order, one row per (patient, instant), sorted for asof."""
    events = events.sort_values(["patient", "at"], kind="stable")
    grouped = events.groupby("patient", sort=False)
    events[sums] = grouped[sums].cumsum()
    for col in maxes:
        events[col] = grouped[col].cummax()
        events[col] = events.groupby("patient", sort=False)[col].ffill()
    # Ties at one instant: the last row carries the totals including all of them.
    events = events.drop_duplicates(["patient", "at"], keep="last")
    return events.sort_values("at", kind="stable").reset_index(drop=True)


def weekly_payments(payments: pd.DataFrame) -> pd.DataFrame:
    """Payments received per complete week (Monday start): one series for the practice
    (``facility_id`` NA) and one per facility, zero-filled between first and last week.

    The week holding the latest payment date may still be filling up, so it is left out.
    """
    day = pd.to_datetime(payments["payment_date"])
    week = day - pd.to_timedelta(day.dt.dayofweek, unit="D")
    last_complete = week.max() - pd.Timedelta(weeks=1)
    all_weeks = pd.date_range(week.min(), last_complete, freq="7D", name="week_start")
    amount = payments["amount"].astype(float)
    series = [amount.groupby(week).sum().reindex(all_weeks, fill_value=0.0).to_frame("amount").assign(facility_id=pd.NA)]
    for facility, rows in amount.groupby([payments["facility_id"], week]).sum().groupby(level=0):
        weekly = rows.droplevel(0).reindex(all_weeks, fill_value=0.0)
        series.append(weekly.to_frame("amount").assign(facility_id=facility))
    return pd.concat(series).reset_index()[["week_start", "facility_id", "amount"]]
