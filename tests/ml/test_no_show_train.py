"""The no-show training pipeline on a practice with planted signal, and its metrics."""

import numpy as np
import pandas as pd
import pytest

from ml.metrics import classification_metrics, reliability_table
from ml.no_show import predict, train
from tests.ml.synthetic import START, appointments


@pytest.fixture(scope="module")
def trained():
    appts = appointments(n_patients=700, per_patient=8, seed=4)
    model, card = train.train(appts, test_fraction=0.25)
    return appts, model, card


def test_holdout_is_the_latest_quarter_and_never_trained_on(trained):
    appts, _, card = trained
    window = card["data_window"]
    assert window["train"]["to"] < window["test_cut"] <= window["test"]["from"]
    labelled = appts["status"] != "cancelled"
    assert window["train"]["rows"] + window["test"]["rows"] == labelled.sum()
    assert window["test"]["rows"] == pytest.approx(0.25 * labelled.sum(), rel=0.1)


def test_planted_signal_is_learned_and_calibrated(trained):
    _, _, card = trained
    metrics = card["metrics"]
    model = metrics["gradient_boosting"]
    assert model["roc_auc"] > 0.65  # the planted law allows about 0.70 from observable features
    assert model["brier"] < model["brier_base_rate"] - 0.01
    assert model["roc_auc"] > metrics["patient_history"]["roc_auc"]
    assert metrics["base_rate"]["brier"] == pytest.approx(model["brier_base_rate"])
    # Lead time and the patient's own history carry the planted signal.
    top = list(card["permutation_importance"])[:4]
    assert "lead_days" in top and any(f.startswith("prior_no_show") for f in top)


def test_reliability_table_covers_the_holdout(trained):
    _, _, card = trained
    table = pd.DataFrame(card["reliability"])
    assert len(table) == 10 and table["n"].sum() == card["data_window"]["test"]["rows"]
    assert table["mean_predicted"].is_monotonic_increasing
    # Calibrated: top decile's observed rate well above the bottom's, and close to its prediction.
    assert table["observed_rate"].iloc[-1] > 3 * table["observed_rate"].iloc[0]
    assert abs(table["observed_rate"] - table["mean_predicted"]).mean() < 0.06


def test_card_lists_what_was_used(trained):
    _, _, card = trained
    # The synthetic practice has one facility: an uninformative feature is dropped, not fitted.
    assert "facility_id" not in card["features"]["categorical"]
    assert "lead_days" in card["features"]["numeric"]
    assert card["calibration"] in ("isotonic", "sigmoid")


def test_scores_only_upcoming_appointments(trained):
    appts, model, _ = trained
    as_of = START + pd.Timedelta(days=300)
    future = appts.assign(status=np.where(appts["starts_at"] >= as_of, "scheduled", appts["status"]))
    scores = predict.score(model, future, as_of=as_of.to_pydatetime())
    expected = future.loc[future["starts_at"] >= as_of, "appointment_id"]
    assert sorted(scores["appointment_id"]) == sorted(expected)
    assert scores["probability"].between(0, 1).all()


def test_classification_metrics_by_hand():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    got = classification_metrics(y, p, base_rate=0.25)
    assert got["roc_auc"] == pytest.approx(0.75)
    assert got["brier"] == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4)
    assert got["brier_base_rate"] == pytest.approx((0.0625 * 2 + 0.5625 * 2) / 4)


def test_reliability_table_equal_counts_even_with_ties():
    p = np.repeat([0.1, 0.5], 50)  # a step-shaped (isotonic) model
    y = np.r_[np.zeros(45), np.ones(5), np.zeros(25), np.ones(25)]
    table = reliability_table(y, p, bins=4)
    assert table["n"].tolist() == [25, 25, 25, 25]
    assert table["observed_rate"].tolist() == [0.0, 0.2, 0.0, 1.0]  # ties keep row order within a bin
