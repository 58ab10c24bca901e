"""The ``ml.*`` tables: the only ClickHouse objects ml writes (ARCHITECTURE.md: ml writes ml.*).

Idempotency: every table is a ReplacingMergeTree whose sorting key is the row's identity and
whose version column is its timestamp, and every reader uses ``FINAL``. Re-running a scoring or
a forecast for the same model version therefore replaces rows instead of adding them, without a
delete (mutations are slow and asynchronous in ClickHouse).

``database`` defaults to ``ml``; tests pass a throwaway one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

DATABASE = "ml"
NO_FACILITY = "00000000-0000-0000-0000-000000000000"  # sorting keys cannot be Nullable

DDL = (
    "CREATE DATABASE IF NOT EXISTS {db}",
    """CREATE TABLE IF NOT EXISTS {db}.no_show_scores (
        appointment_id UUID,
        model_version String,
        probability Float64,
        scored_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree(scored_at)
    ORDER BY (appointment_id, model_version)
    COMMENT 'No-show probability per appointment and model version (grain and key: appointment_id, model_version); read with FINAL'""",
    """CREATE TABLE IF NOT EXISTS {db}.revenue_forecast (
        week_start Date,
        facility_id Nullable(UUID),
        point Decimal(18, 2),
        lo80 Decimal(18, 2),
        hi80 Decimal(18, 2),
        lo95 Decimal(18, 2),
        hi95 Decimal(18, 2),
        model_version String,
        created_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree(created_at)
    ORDER BY (model_version, ifNull(facility_id, toUUID('{no_facility}')), week_start)
    COMMENT 'Weekly payments forecast (grain and key: model_version, facility_id (NULL = whole practice), week_start); read with FINAL'""",
    """CREATE TABLE IF NOT EXISTS {db}.model_metrics (
        model String,
        version String,
        metric String,
        value Float64,
        split String,
        created_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree(created_at)
    ORDER BY (model, version, split, metric)
    COMMENT 'Model quality figures (grain and key: model, version, split, metric); read with FINAL'""",
    """CREATE VIEW IF NOT EXISTS {db}.latest_no_show AS
    SELECT appointment_id, latest.1 AS probability, latest.2 AS model_version, latest.3 AS scored_at
    FROM (
        SELECT appointment_id, argMax((probability, model_version, scored_at), (scored_at, model_version)) AS latest
        FROM {db}.no_show_scores FINAL
        GROUP BY appointment_id
    )""",
    """CREATE VIEW IF NOT EXISTS {db}.latest_revenue_forecast AS
    SELECT week_start, facility_id, point, lo80, hi80, lo95, hi95, model_version, created_at
    FROM {db}.revenue_forecast FINAL
    WHERE model_version = (SELECT max(model_version) FROM {db}.revenue_forecast)""",
)


def ensure_schema(client, database: str = DATABASE) -> None:
    """Create the ml database, tables and views if missing (safe to repeat)."""
    for statement in DDL:
        client.command(statement.format(db=database, no_facility=NO_FACILITY))


def now() -> datetime:
    return datetime.now(UTC)


def write_metrics(client, version: str, rows: Iterable[tuple[str, str, str, float]], database: str = DATABASE) -> int:
    """Insert (model, split, metric, value) rows of one version; returns the row count."""
    created = now()
    data = [[model, version, metric, float(value), split, created] for model, split, metric, value in rows]
    if data:
        client.insert(f"{database}.model_metrics", data, column_names=["model", "version", "metric", "value", "split", "created_at"])
    return len(data)
