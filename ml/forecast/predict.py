"""Turn trained series models into the next ``HORIZON`` weeks with 80 % and 95 % intervals, and
write them to ``ml.revenue_forecast`` (money: Decimal(18, 2))."""

from __future__ import annotations

import uuid
from decimal import Decimal

import numpy as np
import pandas as pd

from ml.forecast.train import LEVELS, SeriesModel, next_weeks, predict
from ml.tables import DATABASE, now

CENT = Decimal("0.01")
BOUNDS = [f"{side}{level}" for level in LEVELS for side in ("lo", "hi")]


def forecast(models: list[SeriesModel]) -> pd.DataFrame:
    """One row per series and future week: week_start, facility_id (None = practice), point, bounds.

    Bounds add each horizon's residual quantiles in log space, so they scale with the level and
    never go below zero.
    """
    frames = []
    for series in models:
        weeks = next_weeks(series.history)
        point = predict(series.model, weeks)
        frame = pd.DataFrame({"week_start": weeks.date, "facility_id": series.facility_id, "point": point})
        for level in LEVELS:
            quantiles = np.asarray(series.quantiles[level])
            frame[f"lo{level}"] = np.maximum(np.expm1(np.log1p(point) + quantiles[:, 0]), 0.0)
            frame[f"hi{level}"] = np.expm1(np.log1p(point) + quantiles[:, 1])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(CENT)


def write_forecast(client, rows: pd.DataFrame, model_version: str, database: str = DATABASE) -> int:
    """Insert forecast rows; a re-run for the same version replaces them (ReplacingMergeTree key)."""
    created = now()
    data = [
        [r.week_start, uuid.UUID(r.facility_id) if r.facility_id else None, *(_money(getattr(r, c)) for c in ("point", *BOUNDS)), model_version, created]
        for r in rows.itertuples(index=False)
    ]
    columns = ["week_start", "facility_id", "point", *BOUNDS, "model_version", "created_at"]
    client.insert(f"{database}.revenue_forecast", data, column_names=columns)
    return len(data)
