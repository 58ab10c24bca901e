"""No-show scores in ClickHouse: written by ``pms ml score``, read by the API.

The API calls ``latest_probabilities(client, ids)`` with its own clickhouse-connect client
(``warehouse.client.get_client()``); it never imports the models.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import pandas as pd
from clickhouse_connect.driver.exceptions import DatabaseError

from ml.tables import DATABASE, now

_MISSING = ("UNKNOWN_TABLE", "UNKNOWN_DATABASE")


def write_scores(client, scores: pd.DataFrame, model_version: str, scored_at: datetime | None = None, database: str = DATABASE) -> int:
    """Insert ``scores`` (columns ``appointment_id``, ``probability``) under ``model_version``.

    Idempotent: (appointment_id, model_version) is the table's key, so a re-run replaces the
    earlier row for readers (FINAL and ``latest_no_show``) instead of adding one.
    """
    if scores.empty:
        return 0
    stamp = scored_at or now()
    data = [[uuid.UUID(str(a)), model_version, float(p), stamp] for a, p in zip(scores["appointment_id"], scores["probability"])]
    client.insert(f"{database}.no_show_scores", data, column_names=["appointment_id", "model_version", "probability", "scored_at"])
    return len(data)


def latest_probabilities(client, appointment_ids: Iterable[uuid.UUID | str], database: str = DATABASE) -> dict[uuid.UUID, float]:
    """The latest no-show probability of each given appointment that has been scored.

    Appointments never scored are absent from the result. Before the first ``pms ml score`` (no
    ``ml`` tables yet) the answer is empty rather than an error, so an appointment list still loads.
    """
    ids = [uuid.UUID(str(a)) for a in appointment_ids]
    if not ids:
        return {}
    query = f"SELECT appointment_id, probability FROM {database}.latest_no_show WHERE appointment_id IN {{ids:Array(UUID)}}"
    try:
        rows = client.query(query, parameters={"ids": ids}).result_rows
    except DatabaseError as exc:
        if any(code in str(exc) for code in _MISSING):
            return {}
        raise
    return {uuid.UUID(str(a)): float(p) for a, p in rows}
