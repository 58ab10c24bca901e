"""`pms ml ...` argument handling and messages that need no warehouse."""

import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from ml import registry
from ml.cli import ml_app
from pms.settings import get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path, monkeypatch):
    """A registry of this test's own: other tests in the worker train models into the shared data dir."""
    monkeypatch.setenv("PMS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_score_without_a_trained_model_says_what_to_do():
    result = runner.invoke(ml_app, ["score", "--model", "forecast"])
    assert result.exit_code == 1
    assert "pms ml train" in result.output


def test_version_needs_a_single_model():
    result = runner.invoke(ml_app, ["score", "--version", "20260101T000000000000Z"])
    assert result.exit_code == 2


def test_models_lists_stored_versions():
    version = registry.save("no_show", LogisticRegression(), {"data_window": {"deployed_fit": {"to": "2026-10-30"}}})
    result = runner.invoke(ml_app, ["models"], terminal_width=200)
    assert result.exit_code == 0
    assert version in result.output and "2026-10-30" in result.output
