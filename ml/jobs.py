"""The four ml jobs, as plain functions for the CLI and orchestration: train and score each model.

Each takes a clickhouse-connect client (``warehouse.client.get_client()``), reads the marts through
``ml.features.read_mart``, and writes artifacts to the registry and rows to ``ml.*``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ml import registry
from ml.features import MARTS, read_mart, weekly_payments
from ml.forecast import predict as forecast_predict
from ml.forecast import train as forecast_train
from ml.no_show import predict as no_show_predict
from ml.no_show import train as no_show_train
from ml.scores import write_scores
from ml.tables import DATABASE, ensure_schema, write_metrics


def no_show_metric_rows(card: dict[str, Any]) -> Iterator[tuple[str, str, str, float]]:
    """(model, split, metric, value): the model's and baselines' holdout figures, and the
    reliability deciles (so dashboards can draw the curve from ``ml.model_metrics`` alone)."""
    for candidate, metrics in card["metrics"].items():
        model = no_show_train.MODEL_NAME if candidate == "gradient_boosting" else f"{no_show_train.MODEL_NAME}.{candidate}"
        for metric, value in metrics.items():
            yield model, "test", metric, value
    for row in card["reliability"]:
        for field in ("n", "mean_predicted", "observed_rate"):
            yield no_show_train.MODEL_NAME, "test", f"reliability_{int(row['bin']):02d}_{field}", row[field]


def forecast_metric_rows(card: dict[str, Any]) -> Iterator[tuple[str, str, str, float]]:
    """(model, split, metric, value); the split names the series: ``backtest/practice`` or
    ``backtest/<facility_id>``."""
    for series, metrics in card["metrics"].items():
        for metric, value in metrics.items():
            yield forecast_train.MODEL_NAME, f"backtest/{series}", metric, value


def _store(name: str, model: Any, card: dict[str, Any], root: Path | None) -> registry.Artifact:
    version = registry.save(name, model, card, root=root)
    return registry.Artifact(name, version, model, registry.card(name, version, root=root))


def train_no_show(client, *, test_fraction: float = 0.2, threads: int = no_show_train.THREADS, progress=None, root: Path | None = None, database: str = DATABASE, marts: str = MARTS) -> registry.Artifact:
    appts = read_mart(client, "fct_appointments", marts)
    model, card = no_show_train.train(appts, test_fraction=test_fraction, progress=progress, threads=threads)
    artifact = _store(no_show_train.MODEL_NAME, model, card, root)
    ensure_schema(client, database)
    write_metrics(client, artifact.version, no_show_metric_rows(card), database)
    return artifact


def train_forecast(client, *, root: Path | None = None, database: str = DATABASE, marts: str = MARTS) -> registry.Artifact:
    weekly = weekly_payments(read_mart(client, "fct_payments", marts))
    models, card = forecast_train.train(weekly)
    artifact = _store(forecast_train.MODEL_NAME, models, card, root)
    ensure_schema(client, database)
    write_metrics(client, artifact.version, forecast_metric_rows(card), database)
    return artifact


def score_no_show(client, *, version: str | None = None, as_of: datetime | None = None, root: Path | None = None, database: str = DATABASE, marts: str = MARTS) -> tuple[str, int]:
    """Score upcoming appointments with a stored model (default: the latest); returns (version, rows)."""
    artifact = registry.load(no_show_train.MODEL_NAME, version, root=root)
    scores = no_show_predict.score(artifact.model, read_mart(client, "fct_appointments", marts), as_of)
    ensure_schema(client, database)
    return artifact.version, write_scores(client, scores, artifact.version, database=database)


def write_forecast(client, *, version: str | None = None, root: Path | None = None, database: str = DATABASE) -> tuple[str, int]:
    """Write the stored forecast model's next weeks (default: the latest model); returns (version, rows)."""
    artifact = registry.load(forecast_train.MODEL_NAME, version, root=root)
    ensure_schema(client, database)
    rows = forecast_predict.forecast(artifact.model)
    return artifact.version, forecast_predict.write_forecast(client, rows, artifact.version, database)
