"""The Kaggle "Medical Appointment No Shows" set (Vitória, 2016) mapped onto the appointment contract.

It runs through the same ``ml.features`` code as the marts, so the benchmark measures our
pipeline, not a bespoke one. Mapping and its compromises:

- ``ScheduledDay`` (a timestamp) is ``booked_at``; ``AppointmentDay`` has no time of day, so the
  start is that date, lead time counts calendar days, and ``start_hour`` is unknown (NaN) rather
  than a fake midnight.
- The outcome is only known once the appointment day is over: ``outcome_known_at`` is the next
  midnight. So history counts appointments on days before the booking day, never the same day.
- ``SMS_received`` is ``reminder_sent``. ``Scholarship`` (Bolsa Família, a welfare programme) is
  the payer-kind proxy: ``medicaid`` (public assistance) versus ``other``. ``Neighbourhood`` (the
  clinic's district) stands in for the facility. No provider or appointment type exists: NA.
- Quirks: ages below 0 are unknown (NA band); appointments dated before their scheduling day are
  data errors and are dropped (5 rows); ``PatientId`` is a float, kept by its exact text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml.features import APPOINTMENT_COLUMNS, normalise

KAGGLE_FILE = Path("noshow") / "KaggleV2-May-2016.csv.zip"
AGE_BANDS = (0, 18, 35, 50, 65, 75)  # dim_patient's bands


def find_shared_data() -> Path | None:
    """The shared reference-data folder (``<workspace>/shared/data``), or None if absent.

    A ``shared_data_dir`` setting wins when present; otherwise look beside each ancestor of the
    project (``../shared/data`` from the project root) and of the working directory.
    """
    from pms.settings import get_settings

    configured = getattr(get_settings(), "shared_data_dir", None)
    if configured:
        return Path(configured)
    roots = [Path(__file__).resolve(), Path.cwd().resolve()]
    for root in roots:
        for parent in root.parents:
            candidate = parent / "shared" / "data"
            if candidate.is_dir():
                return candidate
    return None


def kaggle_path() -> Path | None:
    shared = find_shared_data()
    path = shared / KAGGLE_FILE if shared else None
    return path if path and path.is_file() else None


def age_band(age: pd.Series) -> pd.Series:
    """Age bands as strings ("0-17", ..., "75+"); negative ages are unknown."""
    edges = [*AGE_BANDS, np.inf]
    labels = [f"{lo}-{hi - 1}" for lo, hi in zip(AGE_BANDS, AGE_BANDS[1:])] + [f"{AGE_BANDS[-1]}+"]
    bands = pd.cut(age.where(age >= 0), bins=edges, right=False, labels=labels)
    return bands.astype("str").where(bands.notna())


def read_kaggle(path: Path | None = None, nrows: int | None = None) -> pd.DataFrame:
    """Read the zipped CSV in place (never copied) and return the appointment contract."""
    path = path or kaggle_path()
    if path is None:
        raise FileNotFoundError(f"shared data file {KAGGLE_FILE} not found beside the project")
    raw = pd.read_csv(path, nrows=nrows, dtype={"PatientId": "str"})
    return from_kaggle(raw)


def from_kaggle(raw: pd.DataFrame) -> pd.DataFrame:
    """Map raw Kaggle rows (the CSV's columns) onto ``APPOINTMENT_COLUMNS``."""
    booked = pd.to_datetime(raw["ScheduledDay"], utc=True)
    day = pd.to_datetime(raw["AppointmentDay"], utc=True).dt.normalize()
    keep = day >= booked.dt.normalize()
    frame = pd.DataFrame(
        {
            "appointment_id": raw["AppointmentID"].astype("str"),
            "patient_id": raw["PatientId"].astype("str"),
            "provider_id": pd.NA,
            "facility_id": raw["Neighbourhood"],
            "appointment_type": pd.NA,
            "payer_kind": np.where(raw["Scholarship"] == 1, "medicaid", "other"),
            "age_band": age_band(raw["Age"]),
            "booked_at": booked,
            "starts_at": day,
            "outcome_known_at": day + pd.Timedelta(days=1),
            "lead_days": (day - booked.dt.normalize()).dt.days,
            "start_weekday": day.dt.dayofweek,
            "start_hour": np.nan,
            "status": np.where(raw["No-show"] == "Yes", "no_show", "completed"),
            "reminder_sent": raw["SMS_received"] == 1,
        }
    )[keep]
    return normalise(frame[list(APPOINTMENT_COLUMNS)]).reset_index(drop=True)
