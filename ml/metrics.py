"""Model-quality measures shared by training, the benchmark and the tests (KPIS.md: ROC AUC,
Brier score and a reliability curve for risk; MASE and interval coverage for forecasts)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def classification_metrics(y: np.ndarray, p: np.ndarray, base_rate: float) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), Brier, and the Brier of always predicting the
    training base rate, the bar a useful probability must clear."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "brier_base_rate": float(np.mean((y - base_rate) ** 2)),
        "positive_rate": float(y.mean()),
        "n": float(len(y)),
    }


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Equal-count bins of predicted probability (deciles by default): count, mean prediction,
    observed rate. Ranks break ties, so a step-shaped (isotonic) model still gets ``bins`` rows."""
    p = np.asarray(p, dtype=float)
    ranks = pd.Series(p).rank(method="first").to_numpy()
    decile = np.minimum(((ranks - 1) * bins // len(p)).astype(int), bins - 1) + 1
    frame = pd.DataFrame({"bin": decile, "p": p, "y": np.asarray(y, dtype=float)})
    table = frame.groupby("bin").agg(n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
    return table.reset_index()


def naive_scale(history: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal-naive one-step forecast ``y[t] = y[t - season]``: MASE's scale."""
    history = np.asarray(history, dtype=float)
    if len(history) <= season:
        raise ValueError(f"MASE needs more than {season} history points, got {len(history)}")
    return float(np.mean(np.abs(history[season:] - history[:-season])))


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int) -> float:
    """Mean absolute scaled error (Hyndman & Koehler 2006): forecast MAE over ``naive_scale``."""
    return float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(forecast, float))) / naive_scale(history, season))


def coverage(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of actual values inside [lo, hi]."""
    actual = np.asarray(actual, dtype=float)
    return float(np.mean((actual >= np.asarray(lo)) & (actual <= np.asarray(hi))))
