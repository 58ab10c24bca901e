"""The revenue forecast: MASE by hand, the rolling-origin backtest, intervals, fallbacks."""

import numpy as np
import pandas as pd
import pytest

from ml.forecast import predict, train
from ml.forecast.calendar import closures_per_week
from ml.metrics import coverage, mase
from tests.ml.synthetic import weekly_series


@pytest.fixture(scope="module")
def seasonal():
    series = weekly_series(weeks=140)
    return series, train.backtest(series)


def test_mase_by_hand():
    history = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    # Season 2: in-sample errors |3-1|, |4-2|, |5-3|, |6-4| → scale 2; forecast MAE (1 + 2) / 2.
    assert mase([7.0, 8.0], [6.0, 10.0], history, season=2) == pytest.approx(0.75)
    assert mase([7.0], [7.0], history, season=1) == 0.0
    with pytest.raises(ValueError):
        mase([1.0], [1.0], history[:2], season=2)


def test_backtest_seasonal_naive_mase_matches_an_independent_computation(seasonal):
    series, result = seasonal
    y = series.to_numpy()
    assert result.season == 52
    per_origin = []
    for origin in range(53, len(y) - 13 + 1):
        naive = y[origin - 52:origin - 52 + 13]  # the same weeks a year earlier
        per_origin.append(mase(y[origin:origin + 13], naive, y[:origin], 52))
    assert result.summary["origins"] == len(per_origin)
    assert result.summary["mase_seasonal_naive"] == pytest.approx(np.mean(per_origin))


def test_model_beats_seasonal_naive_on_seasonal_data(seasonal):
    _, result = seasonal
    summary = result.summary
    assert summary["mase_model"] < 0.8 * summary["mase_seasonal_naive"]
    assert summary["mase_model"] < summary["mase_moving_average"]
    # Honest coverage (intervals from residuals observed before each origin) near nominal.
    assert 0.6 <= summary["coverage_80"] <= 0.97
    assert 0.8 <= summary["coverage_95"] <= 1.0
    assert summary["coverage_points"] > 100


def test_forecast_rows_and_ordered_intervals():
    weekly = weekly_series(weeks=120)
    frame = pd.concat(
        [
            pd.DataFrame({"week_start": weekly.index, "facility_id": pd.NA, "amount": weekly.to_numpy()}),
            pd.DataFrame({"week_start": weekly.index, "facility_id": "f1", "amount": weekly.to_numpy() * 0.6}),
            # A facility opened ten weeks ago: too young for a backtest, skipped and named.
            pd.DataFrame({"week_start": weekly.index, "facility_id": "f2", "amount": np.r_[np.zeros(110), np.full(10, 5e3)]}),
        ]
    )
    models, card = train.train(frame)
    assert sorted(card["metrics"]) == ["f1", "practice"] and "f2" in card["skipped_facilities"]
    rows = predict.forecast(models)
    assert len(rows) == 2 * train.HORIZON
    assert rows["week_start"].min() == (weekly.index[-1] + pd.Timedelta(weeks=1)).date()
    assert (rows["lo95"] <= rows["lo80"]).all() and (rows["lo80"] <= rows["hi80"]).all() and (rows["hi80"] <= rows["hi95"]).all()
    assert (rows["lo95"] >= 0).all()
    practice = rows[rows["facility_id"].isna()]["point"].mean()
    assert practice == pytest.approx(weekly.iloc[-13:].mean(), rel=0.15)


def test_short_history_falls_back_to_naive_season_and_a_level():
    series = weekly_series(weeks=60)
    result = train.backtest(series)
    assert result.season == 1  # 60 weeks leave too few origins past a year
    assert train.fit(series).regressor_.named_steps["calendar"].seasonal_
    assert not train.fit(series.iloc[:50]).regressor_.named_steps["calendar"].seasonal_  # under a year: a level
    with pytest.raises(ValueError, match="weeks of history"):
        train.backtest(series.iloc[:30])


def test_warmup_is_trimmed_but_growth_is_kept():
    ramp = pd.Series(np.r_[[1e3, 5e3, 2e4], np.full(40, 4e4)], index=pd.date_range("2024-01-01", periods=43, freq="7D"))
    assert train.trim_warmup(ramp).iloc[0] == 4e4
    assert len(train.trim_warmup(pd.concat([pd.Series(0.0, index=ramp.index - pd.Timedelta(weeks=43)), ramp]))) == 40
    growing = pd.Series(np.linspace(2e4, 6e4, 150), index=pd.date_range("2022-01-03", periods=150, freq="7D"))
    assert len(train.trim_warmup(growing)) > 140


def test_closures_lag_into_later_weeks():
    weeks = pd.date_range("2025-11-17", periods=4, freq="7D")  # Thanksgiving week is Nov 24
    closed = closures_per_week(weeks, lags=2)
    assert closed["closed_lag0"].tolist() == [0, 2, 0, 0]
    assert closed["closed_lag2"].tolist() == [0, 0, 0, 2]


def test_coverage_counts_the_bounds():
    assert coverage([1, 2, 3, 4], [0, 2, 4, 0], [1, 2, 5, 3]) == 0.5

