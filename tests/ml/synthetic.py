"""Small synthetic inputs with planted structure, in the shapes ml.features produces."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features import APPOINTMENT_COLUMNS, normalise

START = pd.Timestamp("2025-01-06", tz="UTC")


def appointments(n_patients: int = 800, per_patient: int = 8, days: int = 365, seed: int = 0) -> pd.DataFrame:
    """A practice whose no-shows follow a logistic law in lead time, reminder, payer and a latent
    per-patient propensity (so past no-shows predict future ones, as in real clinics)."""
    rng = np.random.default_rng(seed)
    n = n_patients * per_patient
    patient = np.repeat(np.arange(n_patients), per_patient)
    propensity = rng.normal(0, 1, n_patients)[patient]
    payer = rng.choice(["commercial", "medicare", "medicaid", "self_pay"], n_patients, p=[0.5, 0.2, 0.2, 0.1])[patient]
    age_band = rng.choice(["0-17", "18-34", "35-49", "50-64", "65-74"], n_patients)[patient]
    lead = np.where(rng.random(n) < 0.3, 0, rng.integers(1, 60, n))
    start_day = rng.integers(lead.max() + 1, days, n)
    hour = rng.integers(8, 17, n)
    starts = START + pd.to_timedelta(start_day, unit="D") + pd.to_timedelta(hour, unit="h")
    booked = starts - pd.to_timedelta(lead, unit="D") - pd.to_timedelta(rng.integers(1, 8, n), unit="h")
    reminder = (lead >= 2) & (rng.random(n) < 0.8)
    z = -2.2 + 0.5 * np.log1p(lead) + 1.1 * propensity - 0.7 * reminder + np.where(payer == "medicaid", 0.6, 0.0)
    no_show = rng.random(n) < 1 / (1 + np.exp(-z))
    cancelled = rng.random(n) < 0.08
    status = np.where(cancelled, "cancelled", np.where(no_show, "no_show", "completed"))
    frame = pd.DataFrame(
        {
            "appointment_id": [f"a{i}" for i in range(n)],
            "patient_id": [f"p{i}" for i in patient],
            "provider_id": rng.choice(["dr1", "dr2", "dr3"], n),
            "facility_id": "f1",
            "appointment_type": rng.choice(["follow_up", "new_patient", "annual_physical"], n),
            "payer_kind": payer,
            "age_band": age_band,
            "booked_at": booked,
            "starts_at": starts,
            "outcome_known_at": starts + pd.Timedelta(minutes=30),
            "lead_days": lead,
            "start_weekday": starts.dayofweek,
            "start_hour": hour,
            "status": status,
            "reminder_sent": reminder,
        }
    )
    return normalise(frame[list(APPOINTMENT_COLUMNS)])


def weekly_series(weeks: int = 140, seed: int = 0, noise: float = 0.05) -> pd.Series:
    """Weekly payments with growth, a winter peak and multiplicative noise."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2023-01-02", periods=weeks, freq="7D")
    t = np.arange(weeks)
    season = 1 + 0.12 * np.cos(2 * np.pi * (index.day_of_year.to_numpy() - 15) / 365.25)
    return pd.Series(40_000 * (1 + 0.003 * t) * season * rng.lognormal(0, noise, weeks), index=index)
