"""Versioned model artifacts on disk."""

from datetime import UTC, datetime

import pytest
from sklearn.linear_model import LogisticRegression

from ml import registry


def test_save_load_latest_and_card(tmp_path):
    first = registry.save("no_show", LogisticRegression(C=0.5), {"metrics": {"roc_auc": 0.7}}, version=registry.new_version(datetime(2026, 1, 1, tzinfo=UTC)), root=tmp_path)
    second = registry.save("no_show", LogisticRegression(C=2.0), {"metrics": {"roc_auc": 0.8}}, root=tmp_path)
    assert registry.versions("no_show", root=tmp_path) == [first, second]

    latest = registry.load("no_show", root=tmp_path)
    assert latest.version == second and latest.model.C == 2.0
    assert latest.card["metrics"] == {"roc_auc": 0.8}
    assert {"name", "version", "created_at", "libraries"} <= set(latest.card)
    assert "scikit-learn" in latest.card["libraries"]
    assert registry.load("no_show", first, root=tmp_path).model.C == 0.5
    assert registry.card("no_show", first, root=tmp_path)["version"] == first


def test_missing_models_and_versions_are_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="pms ml train"):
        registry.load("no_show", root=tmp_path)
    registry.save("no_show", LogisticRegression(), {}, root=tmp_path)
    with pytest.raises(FileNotFoundError, match="no version"):
        registry.load("no_show", "19990101T000000000000Z", root=tmp_path)


def test_a_half_written_version_is_invisible(tmp_path):
    (tmp_path / "no_show" / ".20260101T000000000000Z-tmp").mkdir(parents=True)
    (tmp_path / "no_show" / "20260101T000000000000Z").mkdir()  # no card: an interrupted copy
    assert registry.versions("no_show", root=tmp_path) == []


def test_default_root_is_under_pms_data_dir():
    from pms.settings import get_settings

    assert registry.models_dir() == get_settings().pms_data_dir / "models"
