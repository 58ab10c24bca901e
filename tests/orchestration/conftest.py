"""One materialized world for the orchestration tests: built once per session, in one xdist group.

A tiny practice is seeded into a SQLite store (the simulator's bulk path: the same rows as the
service layer, in seconds), an embedded warehouse is started on a free port with the warehouse
engineer's process helper, and every asset and check of the code location is materialized
in-process against them with Dagster's `materialize`. Tests then break one thing on purpose and
re-run single checks against the same Dagster instance.

Modules here import `orchestration` lazily: importing it loads the dbt manifest, which is parsed
once per data directory, and collection happens on every xdist worker.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

USER, PASSWORD = "pms_orch_test", "orch-test-password-51c2"
GROUP = "orchestration"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class World:
    root: Path
    clickhouse_url: str
    ops_url: str
    engine: Engine
    instance: Any  # dagster.DagsterInstance
    result: Any  # the first full materialization (ExecuteInProcessResult)

    @property
    def models_root(self) -> Path:
        return self.root / "models"

    def resources(self, **thresholds) -> dict[str, Any]:
        from orchestration.resources import CheckThresholds, build_resources

        return build_resources(clickhouse_url=self.clickhouse_url, database_url=self.ops_url,
                               data_dir=str(self.root), thresholds=CheckThresholds(**thresholds))

    def client(self):
        from warehouse.client import get_client

        return get_client(url=self.clickhouse_url)

    def query(self, sql: str) -> list[tuple]:
        client = self.client()
        try:
            return client.query(sql).result_rows
        finally:
            client.close()

    def materialize(self, selection=None, **thresholds):
        """Run `selection` (default: everything) of the code location's assets and checks."""
        import dagster as dg

        from orchestration.checks import business_checks
        from orchestration.definitions import assets

        return dg.materialize([*assets, *business_checks], selection=selection, instance=self.instance,
                              resources=self.resources(**thresholds), raise_on_error=False, run_config=QUIET)

    def run_checks(self, checks: Sequence, **thresholds) -> dict[tuple[str, str], Any]:
        """Evaluate only `checks`; returns their evaluations keyed by (asset key, check name)."""
        import dagster as dg

        result = self.materialize(dg.AssetSelection.checks(*checks), **thresholds)
        return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Iterator[World]:
    import dagster as dg

    from ops_api.db import make_engine
    from simulator import run
    from warehouse.embedded.process import start_server

    root = tmp_path_factory.mktemp("orchestration")
    ops_url = f"sqlite:///{root / 'ops.db'}"
    run.seed(ops_url, "tiny", 7, date.today(), "bulk")
    handle = start_server(root / "warehouse", user=USER, password=PASSWORD)
    engine = make_engine(ops_url)
    try:
        url = f"http://{USER}:{PASSWORD}@{handle.host}:{handle.port}/default"
        with dg.instance_for_test() as instance:
            world = World(root, url, ops_url, engine, instance, None)
            world.result = world.materialize()
            yield world
    finally:
        engine.dispose()
        handle.stop()


@pytest.hookimpl(tryfirst=True)  # before xdist's loadgroup reads the marker
def pytest_collection_modifyitems(items):
    """One worker holds the world (and parses the dbt project once); the demo test, which needs
    neither, runs beside it on the other worker."""
    here = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if path.is_relative_to(here):
            item.add_marker(pytest.mark.xdist_group(f"{GROUP}-demo" if path.name == "test_demo.py" else GROUP))
