"""Weekly payments forecast: a calendar regression, backtested against seasonal-naive and a moving average.

Model: one ``Pipeline`` (``CalendarFeatures`` → ``Ridge``) on log payments, fitted with recency
weights, so levels and seasonality are relative and a growing practice weighs its latest year most.
The point forecast is the back-transformed prediction (a median, the MAE-optimal point).

Backtest: rolling origins, one per week, each fitting on all weeks before it and forecasting
``HORIZON`` weeks. MASE scales each origin's MAE by the in-sample MAE of the seasonal-naive
one-step forecast on the history before that origin, then averages over origins. The season is
52 weeks when every origin has more than a year of history; otherwise it falls back to 1 (naive:
last week), the original non-seasonal MASE, and the card says so.

Intervals are conformal: quantiles of backtest residuals (in log space) at nearby horizons. The
reported coverage is honest: each origin's interval uses only residuals whose target week was
already observed at that origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from ml.forecast.calendar import YEAR_WEEKS, CalendarFeatures
from ml.metrics import naive_scale

MODEL_NAME = "revenue_forecast"
HORIZON = 13
SEASON = 52
MIN_TRAIN_WEEKS = 26  # fewest weeks the model is fitted on (a backtest origin needs this much)
MIN_SEASONAL_ORIGINS = 13  # backtest origins a 52-week season must leave, else the season is 1
HALF_LIFE_WEEKS = 52.0  # recency weighting of the fit
SHORT_HALF_LIFE_WEEKS = 4.0  # under a year (level model): follow the recent level
MOVING_AVERAGE_WEEKS = 8
WARMUP_WEEKS = 26  # a ramp-up is judged against the median of the first half-year
WARMUP_SHARE = 0.8  # leading weeks below this share of that median are a ramp-up
LEVELS = {"80": (0.10, 0.90), "95": (0.025, 0.975)}
HORIZON_POOL = 2  # residuals at horizons h ± this pool into horizon h's interval
MIN_RESIDUALS = 20  # fewest pooled residuals for an interval in the backtest


def make_pipeline() -> TransformedTargetRegressor:
    pipeline = Pipeline([("calendar", CalendarFeatures()), ("ridge", Ridge(alpha=1.0))])
    return TransformedTargetRegressor(regressor=pipeline, func=np.log1p, inverse_func=np.expm1)


def fit(series: pd.Series) -> TransformedTargetRegressor:
    """Fit on a weekly series (index: week starts)."""
    age = np.arange(len(series))[::-1]
    half_life = HALF_LIFE_WEEKS if len(series) >= YEAR_WEEKS else SHORT_HALF_LIFE_WEEKS
    weights = 0.5 ** (age / half_life)
    return make_pipeline().fit(_weeks(series.index), series.to_numpy(), ridge__sample_weight=weights)


def predict(model: TransformedTargetRegressor, weeks: pd.DatetimeIndex) -> np.ndarray:
    return np.maximum(model.predict(_weeks(weeks)), 0.0)


def next_weeks(history: pd.Series) -> pd.DatetimeIndex:
    return pd.date_range(history.index[-1] + pd.Timedelta(weeks=1), periods=HORIZON, freq="7D")


def _weeks(index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame({"week_start": pd.DatetimeIndex(index)})


def trim_warmup(series: pd.Series) -> pd.Series:
    """Drop a ramp-up (a new practice or facility, or history that starts before the first claims
    were paid): leading empty weeks, then leading weeks below ``WARMUP_SHARE`` of the first
    half-year's median. Judged locally, so a practice that grows over years keeps its history."""
    values = series.to_numpy()
    if not (values > 0).any():
        return series
    series = series.iloc[int(np.argmax(values > 0)):]
    above = series.to_numpy() >= WARMUP_SHARE * series.iloc[:WARMUP_WEEKS].median()
    return series.iloc[int(np.argmax(above)):]


def season_for(n_weeks: int) -> int:
    """52 when origins with more than a year of history leave ``MIN_SEASONAL_ORIGINS``, else 1."""
    return SEASON if n_weeks - HORIZON - SEASON >= MIN_SEASONAL_ORIGINS else 1


def baselines(history: np.ndarray, season: int) -> dict[str, np.ndarray]:
    """Seasonal-naive (same week ``season`` weeks back) and moving-average forecasts."""
    steps = np.arange(HORIZON)
    naive = history[len(history) - season + steps % season]
    return {"seasonal_naive": naive, "moving_average": np.full(HORIZON, history[-MOVING_AVERAGE_WEEKS:].mean())}


@dataclass
class Backtest:
    """Every (origin, horizon) forecast of one series, and the season used for MASE."""

    rows: pd.DataFrame
    season: int

    @cached_property
    def summary(self) -> dict[str, float]:
        return summarise(self)


def backtest(series: pd.Series) -> Backtest:
    """Rolling-origin backtest; needs ``MIN_TRAIN_WEEKS`` + ``HORIZON`` weeks at least."""
    values = series.to_numpy(dtype=float)
    season = season_for(len(values))
    first = max(MIN_TRAIN_WEEKS, season + 1)
    if len(values) < first + HORIZON:
        raise ValueError(f"{len(values)} weeks of history; a backtest needs {first + HORIZON}")
    rows = []
    for origin in range(first, len(values) - HORIZON + 1):
        history = values[:origin]
        target = values[origin:origin + HORIZON]
        model = fit(series.iloc[:origin])
        forecasts = {"model": predict(model, series.index[origin:origin + HORIZON]), **baselines(history, season)}
        scale = naive_scale(history, season)
        rows.append(pd.DataFrame({"origin": origin, "h": np.arange(1, HORIZON + 1), "actual": target, "scale": scale, **forecasts}))
    return Backtest(pd.concat(rows, ignore_index=True), season)


def _pooled_bounds(h: np.ndarray, resid: np.ndarray, horizon: int) -> dict[str, tuple[float, float]] | None:
    """Per level, the residual quantiles pooled over horizons ``horizon`` ± ``HORIZON_POOL``."""
    pool = resid[np.abs(h - horizon) <= HORIZON_POOL]
    if len(pool) < MIN_RESIDUALS:
        return None
    return {level: (float(np.quantile(pool, lo)), float(np.quantile(pool, hi))) for level, (lo, hi) in LEVELS.items()}


def residual_quantiles(residuals: pd.DataFrame) -> dict[str, list[list[float]]]:
    """Per level and horizon 1..HORIZON: [lo, hi] quantiles of the backtest's log residuals."""
    h, resid = residuals["h"].to_numpy(), residuals["resid"].to_numpy()
    bounds = [_pooled_bounds(h, resid, step) for step in range(1, HORIZON + 1)]
    if any(b is None for b in bounds):
        raise ValueError(f"fewer than {MIN_RESIDUALS} backtest residuals per horizon")
    return {level: [list(b[level]) for b in bounds] for level in LEVELS}


def log_residuals(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.assign(resid=np.log1p(rows["actual"]) - np.log1p(rows["model"]))


def summarise(result: Backtest) -> dict[str, float]:
    """MASE of each method (mean over origins), relative MAE to seasonal-naive, interval coverage."""
    rows = result.rows
    summary: dict[str, float] = {"season": float(result.season), "origins": float(rows["origin"].nunique())}
    for method in ("model", "seasonal_naive", "moving_average"):
        per_origin = (rows[method] - rows["actual"]).abs().groupby(rows["origin"]).mean() / rows.groupby("origin")["scale"].first()
        summary[f"mase_{method}"] = float(per_origin.mean())
    summary["mae_ratio_to_seasonal_naive"] = float((rows["model"] - rows["actual"]).abs().mean() / (rows["seasonal_naive"] - rows["actual"]).abs().mean())
    summary.update(_honest_coverage(log_residuals(rows)))
    return summary


def _honest_coverage(rows: pd.DataFrame) -> dict[str, float]:
    """Coverage of intervals built, at each origin, only from residuals already observed then."""
    origin, h, resid = (rows[c].to_numpy() for c in ("origin", "h", "resid"))
    hits: dict[str, list[bool]] = {level: [] for level in LEVELS}
    for current in np.unique(origin):
        known = origin + h <= current  # target week origin + h - 1 lies before `current`
        for i in np.flatnonzero(origin == current):
            bounds = _pooled_bounds(h[known], resid[known], h[i])
            for level, (lo, hi) in (bounds or {}).items():
                hits[level].append(lo <= resid[i] <= hi)
    out = {f"coverage_{level}": float(np.mean(v)) if v else float("nan") for level, v in hits.items()}
    out["coverage_points"] = float(len(hits["80"]))
    return out


@dataclass
class SeriesModel:
    """One series' fitted regression, the (trimmed) history it was fit on, its interval quantiles
    and its backtest summary."""

    facility_id: str | None
    model: TransformedTargetRegressor
    history: pd.Series
    quantiles: dict[str, list[list[float]]]
    summary: dict[str, float]


def train_series(series: pd.Series, facility_id: str | None) -> SeriesModel:
    series = trim_warmup(series)
    result = backtest(series)
    return SeriesModel(facility_id, fit(series), series, residual_quantiles(log_residuals(result.rows)), result.summary)


def train(weekly: pd.DataFrame) -> tuple[list[SeriesModel], dict[str, Any]]:
    """Fit the practice series and each facility's (``ml.features.weekly_payments`` output).

    A facility too young for a backtest is skipped and listed in the card.
    """
    models, skipped = [], {}
    for facility, rows in weekly.groupby(weekly["facility_id"].astype("object").fillna(""), sort=True):
        series = rows.set_index("week_start")["amount"].sort_index()
        key = facility or None
        try:
            models.append(train_series(series, key))
        except ValueError as exc:
            if key is None:
                raise
            skipped[key] = str(exc)
    practice = next(m for m in models if m.facility_id is None)
    card = {
        "model": "Ridge on log payments: trend + yearly Fourier terms + lagged practice closures, recency-weighted",
        "horizon_weeks": HORIZON,
        "levels": list(LEVELS),
        "data_window": {"from": practice.history.index[0], "to": practice.history.index[-1], "weeks": len(practice.history)},
        "metrics": {m.facility_id or "practice": m.summary for m in models},
        "skipped_facilities": skipped,
        "season_note": "MASE season 52 weeks; 1 (naive) where history is shorter than a year plus a backtest",
    }
    return models, card
