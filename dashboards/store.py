"""Saved custom dashboards, kept in ClickHouse (``app.saved_dashboards``) beside the marts they chart.

``app.*`` is written only by the dashboards. The table is a ReplacingMergeTree keyed by
(owner_id, name): saving under an existing name replaces that dashboard, and deleting writes a
newer row with ``is_deleted = 1``; readers use FINAL, so no mutation is ever needed. A dashboard
is visible to its owner and to every user whose role it is shared with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import streamlit as st
from clickhouse_connect.driver.client import Client

from dashboards.auth import DASHBOARD_ROLES, Viewer
from dashboards.catalog import CatalogError, DashboardSpec, validate

TABLE = "app.saved_dashboards"
MAX_NAME = 80
DDL = (
    "CREATE DATABASE IF NOT EXISTS app",
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        owner_id String,
        name String,
        owner_username String,
        definition String COMMENT 'JSON of catalog.DashboardSpec: registry keys only, never SQL',
        shared_with_roles Array(LowCardinality(String)),
        updated_at DateTime64(3, 'UTC'),
        is_deleted UInt8 DEFAULT 0
    ) ENGINE = ReplacingMergeTree(updated_at, is_deleted)
    ORDER BY (owner_id, name)
    COMMENT 'Custom dashboards (grain and key: owner_id, name); written only by dashboards/, read with FINAL'""",
)


@dataclass(frozen=True)
class SavedDashboard:
    owner_id: str
    owner_username: str
    name: str
    spec: DashboardSpec | None  # None: the definition no longer matches the registry
    shared_with_roles: tuple[str, ...]
    updated_at: datetime
    problem: str | None = None

    def owned_by(self, viewer: Viewer) -> bool:
        return self.owner_id == viewer.user_id


_ready: set[str] = set()


def ensure_schema(client: Client) -> None:
    """Create the database and table if missing (idempotent; once per server per process)."""
    key = getattr(client, "url", None) or str(id(client))
    if key in _ready:
        return
    for statement in DDL:
        client.command(statement)
    _ready.add(key)


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValueError("give the dashboard a name")
    if len(name) > MAX_NAME:
        raise ValueError(f"a name has at most {MAX_NAME} characters")
    return name


def save(client: Client, viewer: Viewer, name: str, spec: DashboardSpec, shared_with: tuple[str, ...] = ()) -> str:
    """Store (or replace) the viewer's dashboard ``name``; returns the cleaned name."""
    validate(spec)
    name = _clean_name(name)
    roles = tuple(sorted(set(shared_with)))
    if unknown := set(roles) - DASHBOARD_ROLES:
        raise ValueError(f"cannot share with {sorted(unknown)}: dashboards are for {sorted(DASHBOARD_ROLES)}")
    ensure_schema(client)
    client.insert(TABLE, [[viewer.user_id, name, viewer.username, json.dumps(spec.to_json()), list(roles),
                           datetime.now(UTC), 0]],
                  column_names=["owner_id", "name", "owner_username", "definition", "shared_with_roles",
                                "updated_at", "is_deleted"])
    _rows.clear()
    return name


def delete(client: Client, viewer: Viewer, name: str) -> None:
    """Delete one of the viewer's own dashboards (others' shared ones are not theirs to delete)."""
    ensure_schema(client)
    client.insert(TABLE, [[viewer.user_id, name, viewer.username, "{}", [], datetime.now(UTC), 1]],
                  column_names=["owner_id", "name", "owner_username", "definition", "shared_with_roles",
                                "updated_at", "is_deleted"])
    _rows.clear()


def _parse(row: dict) -> SavedDashboard:
    try:
        spec, problem = DashboardSpec.from_json(json.loads(row["definition"])), None
    except (CatalogError, ValueError) as exc:
        spec, problem = None, str(exc)
    return SavedDashboard(owner_id=row["owner_id"], owner_username=row["owner_username"], name=row["name"],
                          spec=spec, shared_with_roles=tuple(row["shared_with_roles"]),
                          updated_at=row["updated_at"], problem=problem)


@st.cache_data(ttl=60, show_spinner=False)
def _rows(_client: Client, url: str, user_id: str, role: str) -> pd.DataFrame:
    """Cached per (server, user, role); every save or delete clears it."""
    ensure_schema(_client)
    result = _client.query(
        f"SELECT owner_id, name, owner_username, definition, shared_with_roles, updated_at FROM {TABLE} FINAL "
        "WHERE is_deleted = 0 AND (owner_id = {user_id:String} OR has(shared_with_roles, {role:String})) "
        "ORDER BY owner_id = {user_id:String} DESC, name",
        parameters={"user_id": user_id, "role": role})
    return pd.DataFrame(result.result_rows, columns=result.column_names)


def list_visible(client: Client, viewer: Viewer) -> list[SavedDashboard]:
    """The viewer's own dashboards first, then those shared with their role."""
    frame = _rows(client, getattr(client, "url", ""), viewer.user_id, viewer.role)
    return [_parse(row) for row in frame.to_dict("records")]

