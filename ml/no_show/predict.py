"""Score upcoming appointments with a trained no-show model.

Features are computed over every appointment (history needs them) with the same booking cut-off
as in training, so a score does not drift as the day approaches; only ``reminder_sent`` changes
(once the reminder goes out, 48 h before), and the daily re-score picks that up.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from threadpoolctl import threadpool_limits

from ml.features import no_show_features

UPCOMING = ("scheduled", "confirmed")


def upcoming(appts: pd.DataFrame, as_of: datetime) -> pd.Series:
    """Appointments still to happen at ``as_of``: the ones a front desk can act on."""
    return appts["status"].isin(UPCOMING) & (appts["starts_at"] >= pd.Timestamp(as_of))


def score(model, appts: pd.DataFrame, as_of: datetime | None = None, threads: int = 1) -> pd.DataFrame:
    """``appointment_id`` and ``probability`` of each upcoming appointment."""
    as_of = as_of or datetime.now(UTC)
    features = no_show_features(appts)
    mask = upcoming(appts, as_of).to_numpy()
    if not mask.any():
        return pd.DataFrame({"appointment_id": pd.Series(dtype="str"), "probability": pd.Series(dtype=float)})
    with threadpool_limits(threads):
        probability = model.predict_proba(features[mask])[:, 1]
    return pd.DataFrame({"appointment_id": appts.loc[mask, "appointment_id"].to_numpy(), "probability": probability})
