"""Deterministic weekly regressors: trend, yearly seasonality, and practice closures.

Payments lag services by two to six weeks (claims adjudicate in 2-5 weeks, patients pay later),
so a closed day lowers payments in later weeks: the closure counts enter with lags. Closures are
the usual US practice holidays (federal holidays a clinic observes, plus the day after Thanksgiving
and Christmas Eve); all are known years ahead, so the features exist for any future week.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from pandas.tseries.holiday import (
    TH,
    AbstractHolidayCalendar,
    Holiday,
    USLaborDay,
    USMartinLutherKingJr,
    USMemorialDay,
    USThanksgivingDay,
    nearest_workday,
)
from pandas.tseries.offsets import DateOffset
from sklearn.base import BaseEstimator, TransformerMixin

YEAR_WEEKS = 365.25 / 7


class PracticeClosures(AbstractHolidayCalendar):
    rules = [
        Holiday("New Year's Day", month=1, day=1, observance=nearest_workday),
        USMartinLutherKingJr,
        USMemorialDay,
        Holiday("Juneteenth", month=6, day=19, start_date="2021-06-18", observance=nearest_workday),
        Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
        USLaborDay,
        USThanksgivingDay,
        Holiday("Day after Thanksgiving", month=11, day=1, offset=[DateOffset(weekday=TH(4)), DateOffset(days=1)]),
        Holiday("Christmas Eve", month=12, day=24),
        Holiday("Christmas Day", month=12, day=25, observance=nearest_workday),
    ]


@lru_cache(maxsize=64)
def _closures_by_week(first_year: int, last_year: int) -> pd.Series:
    days = PracticeClosures().holidays(f"{first_year}-01-01", f"{last_year}-12-31")
    days = days[days.dayofweek < 5]
    return pd.Series(1.0, index=days).groupby(days - pd.to_timedelta(days.dayofweek, unit="D")).sum()


def closures_per_week(weeks: pd.DatetimeIndex, lags: int) -> pd.DataFrame:
    """Weekday closures in each week (Monday starts) and in the ``lags`` weeks before it."""
    counts = _closures_by_week((weeks.min() - pd.Timedelta(weeks=lags + 1)).year, (weeks.max() + pd.Timedelta(days=6)).year)
    return pd.DataFrame({f"closed_lag{lag}": counts.reindex(weeks - pd.Timedelta(weeks=lag), fill_value=0.0).to_numpy() for lag in range(lags + 1)}, index=weeks)


class CalendarFeatures(TransformerMixin, BaseEstimator):
    """Week starts (a ``week_start`` column) → trend, Fourier terms of the year, lagged closures.

    Under a year of history a seasonal swing looks like a trend, and closure weeks coincide with
    the season, so ``fit`` then drops everything (``seasonal_`` False): one constant column, and
    the regression is a recency-weighted level (simple exponential smoothing).
    """

    def __init__(self, fourier_order: int = 3, closure_lags: int = 5):
        self.fourier_order = fourier_order
        self.closure_lags = closure_lags

    def fit(self, X: pd.DataFrame, y=None):
        weeks = pd.DatetimeIndex(X["week_start"])
        self.origin_ = weeks.min()
        self.seasonal_ = len(weeks) >= YEAR_WEEKS
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        weeks = pd.DatetimeIndex(X["week_start"])
        if not self.seasonal_:
            return np.zeros((len(weeks), 1))
        closures = closures_per_week(weeks, self.closure_lags).to_numpy()
        t = np.asarray((weeks - self.origin_) / pd.Timedelta(weeks=1), dtype=float)
        columns = [t / YEAR_WEEKS]
        year_angle = 2 * np.pi * (weeks.day_of_year.to_numpy() + 3) / 365.25  # mid-week
        for k in range(1, self.fourier_order + 1):
            columns += [np.sin(k * year_angle), np.cos(k * year_angle)]
        return np.column_stack([*columns, closures])
