"""A new model worse than the current one by more than the margin is rejected; the current one stays."""

import math

import pytest

from ml import registry
from orchestration import promotion

MARGINS = {"no_show_auc_margin": 0.02, "no_show_brier_margin": 0.01, "forecast_mase_margin": 0.10}


def _save(root, name: str, metrics: dict) -> str:
    return registry.save(name, {"fitted": True}, {"metrics": metrics}, root=root)


def no_show(auc: float, brier: float) -> dict:
    return {"gradient_boosting": {"roc_auc": auc, "brier": brier}}


def test_first_version_passes(tmp_path):
    version = _save(tmp_path, "no_show", no_show(0.70, 0.15))
    review = promotion.review("no_show", MARGINS, root=tmp_path)
    assert review.passed and review.version == version and review.previous is None


def test_no_model_does_not_pass(tmp_path):
    assert not promotion.review("no_show", MARGINS, root=tmp_path).passed


@pytest.mark.parametrize(("auc", "brier", "worse"), [
    (0.69, 0.155, []),  # within both margins
    (0.67, 0.15, ["roc_auc"]),  # lost 0.03 AUC
    (0.70, 0.17, ["brier"]),  # gained 0.02 Brier
    (float("nan"), 0.15, ["roc_auc"]),  # an undefined metric is worse
])
def test_no_show_margins(tmp_path, auc, brier, worse):
    _save(tmp_path, "no_show", no_show(0.70, 0.15))
    _save(tmp_path, "no_show", no_show(auc, brier))
    review = promotion.review("no_show", MARGINS, root=tmp_path)
    assert [c.rule.metric for c in review.regressions] == worse


def test_forecast_mase_margin(tmp_path):
    _save(tmp_path, "revenue_forecast", {"practice": {"mase_model": 0.70}})
    _save(tmp_path, "revenue_forecast", {"practice": {"mase_model": 0.85}})
    review = promotion.review("revenue_forecast", MARGINS, root=tmp_path)
    assert [c.rule.metric for c in review.regressions] == ["mase_model"]
    assert math.isclose(review.regressions[0].old, 0.70)


def test_reject_makes_the_previous_version_current(tmp_path):
    old = _save(tmp_path, "no_show", no_show(0.70, 0.15))
    new = _save(tmp_path, "no_show", no_show(0.50, 0.25))
    promotion.reject("no_show", new, root=tmp_path)
    assert registry.versions("no_show", tmp_path) == [old]
    assert registry.load("no_show", root=tmp_path).version == old
    assert (tmp_path / "no_show" / f"{promotion.REJECTED_PREFIX}{new}" / "card.json").is_file()
