"""Train and evaluate the no-show model on a time-based split.

The model is one sklearn ``Pipeline`` (ordinal-encode categories → HistGradientBoosting) wrapped
in isotonic (or, on small data, sigmoid) calibration fitted on the *latest* slice of the training
window: calibrating on later data than the trees saw mimics scoring the future. The holdout is the
latest ``test_fraction`` of appointments by start day; nothing in it reaches fitting or calibration.

Baselines on the same holdout: the training base rate, the patient's own past no-show rate shrunk
towards it (``PRIOR_STRENGTH`` pseudo-visits), and a logistic regression on the same features.
The deployed model is then refit by the same recipe on every labelled appointment, so scores use
the latest months; the card keeps the holdout figures of the evaluation fit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from ml.features import CATEGORICAL, NUMERIC, no_show_features, no_show_labels
from ml.metrics import classification_metrics, reliability_table

MODEL_NAME = "no_show"
HGB_PARAMS = {"learning_rate": 0.05, "max_iter": 500, "min_samples_leaf": 100, "l2_regularization": 1.0, "early_stopping": True, "n_iter_no_change": 20, "random_state": 0}
CALIBRATION_FRACTION = 0.2  # latest share of the training window held back for calibration
ISOTONIC_MIN_ROWS = 5000  # below this, isotonic overfits: use sigmoid
PRIOR_STRENGTH = 5.0  # pseudo-visits at the base rate in the patient-history baseline
IMPORTANCE_ROWS = 20_000  # holdout sample for permutation importance
# OpenMP threads for fitting. One by default: on a busy shared host (2 CPUs, load 9) two
# spin-waiting OpenMP threads made a fit 18x slower (157 s against 8.5 s); one is predictable.
THREADS = 1
Progress = Callable[[str], None]


@dataclass
class Labelled:
    """Labelled appointments in start order: features, 0/1 no-show, start time."""

    X: pd.DataFrame
    y: np.ndarray
    starts_at: pd.Series

    def take(self, mask: np.ndarray) -> Labelled:
        return Labelled(self.X[mask], self.y[mask], self.starts_at[mask])


def labelled(appts: pd.DataFrame) -> Labelled:
    """Features for every appointment (history needs them all), kept where the outcome is final."""
    features = no_show_features(appts)
    label = no_show_labels(appts)
    keep = label.notna().to_numpy()
    order = np.argsort(appts["starts_at"].to_numpy()[keep], kind="stable")
    return Labelled(features[keep].iloc[order], label[keep].to_numpy()[order], appts["starts_at"][keep].iloc[order])


def usable_features(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Drop features with no information in this data (all missing or one value): a source
    without providers or start times (Kaggle) still trains, and the card lists what was used."""
    informative = [c for c in X.columns if X[c].nunique(dropna=False) > 1]
    return [c for c in CATEGORICAL if c in informative], [c for c in NUMERIC if c in informative]


def make_pipeline(categorical: list[str], numeric: list[str]) -> Pipeline:
    encode = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan, max_categories=250)
    prep = ColumnTransformer([("cat", encode, categorical), ("num", "passthrough", numeric)])
    gbm = HistGradientBoostingClassifier(categorical_features=list(range(len(categorical))), **HGB_PARAMS)
    return Pipeline([("prep", prep), ("gbm", gbm)])


def make_logistic(categorical: list[str], numeric: list[str]) -> Pipeline:
    """Baseline: one-hot categories (and weekday), log-scaled counts with missing indicators."""
    onehot = [*categorical, *(c for c in ("weekday",) if c in numeric)]
    scaled = [c for c in numeric if c not in onehot]
    numeric_steps = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)), ("log", FunctionTransformer(np.log1p)), ("scale", StandardScaler())])
    prep = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20), onehot), ("num", numeric_steps, scaled)])
    return Pipeline([("prep", prep), ("logit", LogisticRegression(max_iter=2000))])


def history_baseline(X: pd.DataFrame, base_rate: float, strength: float = PRIOR_STRENGTH) -> np.ndarray:
    """The patient's past no-show rate, shrunk to the base rate: (no-shows + k·p) / (visits + k)."""
    attended = X["prior_outcomes"] - X["prior_cancellations"]
    return ((X["prior_no_shows"] + strength * base_rate) / (attended + strength)).to_numpy()


def time_cut(starts_at: pd.Series, fraction: float) -> pd.Timestamp:
    """The first start day of the latest ``fraction`` of appointments."""
    return starts_at.quantile(1 - fraction).normalize()


def fit_calibrated(data: Labelled, categorical: list[str], numeric: list[str]) -> CalibratedClassifierCV:
    """Fit the pipeline on the earlier part of ``data``, calibrate on the latest part."""
    cut = time_cut(data.starts_at, CALIBRATION_FRACTION)
    early = (data.starts_at < cut).to_numpy()
    if early.all() or not early.any():
        raise ValueError("training window too short for a time-ordered calibration split")
    pipeline = make_pipeline(categorical, numeric).fit(data.X[early], data.y[early])
    late = data.take(~early)
    method = "isotonic" if len(late.y) >= ISOTONIC_MIN_ROWS else "sigmoid"
    return CalibratedClassifierCV(FrozenEstimator(pipeline), method=method).fit(late.X, late.y)


def _window(data: Labelled) -> dict[str, Any]:
    return {"from": data.starts_at.min(), "to": data.starts_at.max(), "rows": int(len(data.y)), "no_show_rate": float(data.y.mean())}


def evaluate(model: CalibratedClassifierCV, train: Labelled, test: Labelled, categorical: list[str], numeric: list[str]) -> dict[str, Any]:
    """Holdout metrics of the model and its baselines, reliability deciles, permutation importance."""
    base_rate = float(train.y.mean())
    probability = model.predict_proba(test.X)[:, 1]
    logistic = make_logistic(categorical, numeric).fit(train.X, train.y)
    candidates = {
        "gradient_boosting": probability,
        "logistic_regression": logistic.predict_proba(test.X)[:, 1],
        "patient_history": history_baseline(test.X, base_rate),
        "base_rate": np.full(len(test.y), base_rate),
    }
    metrics = {name: classification_metrics(test.y, p, base_rate) for name, p in candidates.items()}
    rng = np.random.default_rng(0)
    sample = rng.choice(len(test.y), size=min(IMPORTANCE_ROWS, len(test.y)), replace=False)
    used = [*categorical, *numeric]
    importance = permutation_importance(model, test.X.iloc[sample][used], test.y[sample], scoring="roc_auc", n_repeats=3, random_state=0)
    ranking = sorted(zip(used, importance.importances_mean), key=lambda kv: -kv[1])
    return {
        "metrics": metrics,
        "reliability": reliability_table(test.y, probability).to_dict(orient="records"),
        "permutation_importance": {name: float(value) for name, value in ranking},
    }


def train(appts: pd.DataFrame, test_fraction: float = 0.2, refit: bool = True, progress: Progress | None = None, threads: int = THREADS) -> tuple[CalibratedClassifierCV, dict[str, Any]]:
    """Evaluate on the latest ``test_fraction`` of appointments, then (``refit``) fit the model to
    deploy on all of them. Returns the model and its card (for ``ml.registry.save``)."""
    with threadpool_limits(threads):
        return _train(appts, test_fraction, refit, progress)


def holdout_split(data: Labelled, test_fraction: float) -> tuple[Labelled, Labelled, pd.Timestamp]:
    """Earlier appointments to train on, the latest ``test_fraction`` (whole start days) to test."""
    cut = time_cut(data.starts_at, test_fraction)
    is_test = (data.starts_at >= cut).to_numpy()
    return data.take(~is_test), data.take(is_test), cut


def _train(appts: pd.DataFrame, test_fraction: float, refit: bool, progress: Progress | None) -> tuple[CalibratedClassifierCV, dict[str, Any]]:
    say = progress or (lambda _msg: None)
    marks, cpu = [time.perf_counter()], time.process_time()

    def lap() -> float:
        marks.append(time.perf_counter())
        return round(marks[-1] - marks[-2], 2)

    say("computing features")
    data = labelled(appts)
    train_set, test_set, cut = holdout_split(data, test_fraction)
    categorical, numeric = usable_features(train_set.X)
    timings = {"features": lap()}
    say("fitting on the training window")
    model = fit_calibrated(train_set, categorical, numeric)
    timings["fit"] = lap()
    say("evaluating on the holdout")
    report = evaluate(model, train_set, test_set, categorical, numeric)
    timings["evaluate"] = lap()
    if refit:
        say("refitting on all labelled appointments")
        model = fit_calibrated(data, categorical, numeric)
        timings["refit"] = lap()
    timings["total"] = round(marks[-1] - marks[0], 2)
    timings["cpu_total"] = round(time.process_time() - cpu, 2)  # wall time misleads on a busy host
    card = {
        "model": "HistGradientBoostingClassifier + CalibratedClassifierCV (time-ordered calibration split)",
        "calibration": model.method,
        "params": HGB_PARAMS,
        "features": {"categorical": categorical, "numeric": numeric},
        "feature_cutoff": "patient history uses only appointments whose outcome was known strictly before this appointment's booked_at",
        "data_window": {"train": _window(train_set), "test": _window(test_set), "deployed_fit": _window(data if refit else train_set), "test_cut": cut},
        "timings_seconds": timings,
        **report,
    }
    return model, card
