"""Dagster resources: thin wrappers over the project's own factories, so Dagster, the CLI and the API
connect the same way.

The environment is chosen the way the rest of the platform chooses it: by `CLICKHOUSE_URL`,
`DATABASE_URL` and `PMS_DATA_DIR` (pms.settings). Every field left None falls back to those, so
`build_resources()` is the deployed set and tests pass explicit values (a temporary data directory, an
embedded server on a free port, a throwaway SQLite file).
"""

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from clickhouse_connect.driver.client import Client
from dagster_dbt import DbtCliResource
from pydantic import PrivateAttr
from sqlalchemy import Engine

from orchestration.project import dbt_project
from pms.settings import get_settings


class WarehouseResource(dg.ConfigurableResource):
    """ClickHouse via `warehouse.client.get_client`, the project's one client factory."""

    url: str | None = None  # default: CLICKHOUSE_URL

    @contextmanager
    def get_client(self, **overrides: Any) -> Iterator[Client]:
        from warehouse.client import get_client

        client = get_client(url=self.url, **overrides)
        try:
            yield client
        finally:
            client.close()

    def dbt_env(self) -> dict[str, str]:
        """dbt's connection variables for this server (the same derivation `pms dbt` uses)."""
        from warehouse.dbt_runner import dbt_env

        return dbt_env(self.url)

    def reachable(self) -> bool:
        try:
            with self.get_client(connect_timeout=5) as client:
                return client.ping()
        except Exception:  # noqa: BLE001 - any failure to connect means "not reachable"
            return False


class OpsStoreResource(dg.ConfigurableResource):
    """The operational DB. Orchestration only reads it, apart from the replicator pruning the outbox."""

    database_url: str | None = None  # default: DATABASE_URL, else SQLite in PMS_DATA_DIR
    _engine: Engine | None = PrivateAttr(default=None)

    @property
    def url(self) -> str:
        return self.database_url or get_settings().sqlalchemy_url

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from ops_api.db import make_engine

            self._engine = make_engine(self.url)
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class PmsSettingsResource(dg.ConfigurableResource):
    """Where the platform keeps its files (model registry, dbt artifacts)."""

    data_dir: str | None = None  # default: PMS_DATA_DIR

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve() if self.data_dir else get_settings().pms_data_dir.resolve()

    @property
    def models_root(self) -> Path:
        return self.root / "models"

    @property
    def dbt_runs_dir(self) -> Path:
        return self.root / "dbt" / "dagster" / "runs"


class CheckThresholds(dg.ConfigurableResource):
    """Limits of the business checks; set them per deployment in run config or here."""

    replication_lag_seconds: float = 300.0  # the oldest unreplicated outbox event may be this old
    no_show_auc_margin: float = 0.02  # a new no-show model may lose this much ROC AUC ...
    no_show_brier_margin: float = 0.01  # ... and gain this much Brier score against the current one
    forecast_mase_margin: float = 0.10  # a new forecast may lose this much practice-level MASE
    consistent_read_attempts: int = 5  # reconciliation retries while the operational store moves


def dbt_executable() -> str:
    """The dbt beside this interpreter (the venv's), so runs do not depend on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def build_resources(*, clickhouse_url: str | None = None, database_url: str | None = None,
                    data_dir: str | None = None, thresholds: CheckThresholds | None = None) -> dict[str, Any]:
    return {
        "warehouse": WarehouseResource(url=clickhouse_url),
        "ops_store": OpsStoreResource(database_url=database_url),
        "pms": PmsSettingsResource(data_dir=data_dir),
        "thresholds": thresholds or CheckThresholds(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    }
