"""The dbt project as assets: one per model, its tests as asset checks, all built by one streamed `dbt build`.

Keys follow the warehouse: `staging/stg_ops__claims`, `intermediate/int_...`, `marts/fct_...`, and a
dbt source `ops.<table>` is `raw/<table>`, the replication asset that loads it. Groups are the dbt
layers, marts split by area, so the asset graph reads as the architecture does.

Each materialization records `raw_high_water`: the replicator's committed outbox seq when the build
started. The A/R reconciliation uses it to know whether the marts and the operational store describe
the same moment.
"""

import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets, get_asset_key_for_model

from orchestration.assets.replication import GROUP as RAW_GROUP
from orchestration.assets.replication import committed_high_water
from orchestration.project import dbt_project
from orchestration.resources import PmsSettingsResource, WarehouseResource
from orchestration.retries import WAREHOUSE_RETRY, retry_only_transient

KEEP_TARGETS = 5  # dbt target folders kept for inspection; older ones are deleted after each build


class PmsDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([RAW_GROUP, dbt_resource_props["name"]])
        return dg.AssetKey([_layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return RAW_GROUP
        fqn = dbt_resource_props["fqn"]
        layer = _layer(dbt_resource_props)
        return f"marts_{fqn[2]}" if layer == "marts" and len(fqn) > 3 else layer


def _layer(props: Mapping[str, Any]) -> str:
    """staging / intermediate / marts: the model's folder under models/ (its fqn after the project)."""
    fqn = props.get("fqn") or []
    return fqn[1] if len(fqn) > 2 else "dbt"


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the dbt subprocess and its in-process adapter; restore them after."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def fresh_target(runs_dir: Path, run_id: str) -> Path:
    """A target folder for one invocation, seeded with the prebuilt partial parse so dbt skips most parsing."""
    target = runs_dir / f"{run_id[:8]}-{uuid.uuid4().hex[:6]}"
    target.mkdir(parents=True)
    prebuilt = dbt_project.target_path / "partial_parse.msgpack"
    if prebuilt.exists():
        shutil.copy2(prebuilt, target / "partial_parse.msgpack")
    return target


def prune_targets(runs_dir: Path, keep: int = KEEP_TARGETS) -> None:
    folders = sorted((p for p in runs_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in folders[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=PmsDbtTranslator(),
            retry_policy=WAREHOUSE_RETRY, name="dbt_models")
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource,
               pms: PmsSettingsResource):
    """`dbt build` of the selected models and their tests, streamed as materializations and check results."""
    with warehouse.get_client() as client:
        high_water = committed_high_water(client)
    target = fresh_target(pms.dbt_runs_dir, context.run.run_id)
    stamp = {"raw_high_water": high_water if high_water is not None else -1}
    with environment(warehouse.dbt_env()), retry_only_transient(still_reachable=warehouse.reachable):
        for event in dbt.cli(["build"], context=context, target_path=target).stream().fetch_row_counts():
            if isinstance(event, dg.Output | dg.AssetMaterialization):
                event = event.with_metadata({**event.metadata, **stamp})
            yield event
    prune_targets(pms.dbt_runs_dir)


FCT_KPI_DAILY = get_asset_key_for_model([dbt_models], "fct_kpi_daily")  # the last mart built; holds the A/R snapshot


def built_from_high_water(instance: dg.DagsterInstance, key: dg.AssetKey = FCT_KPI_DAILY) -> int | None:
    """The replicator position the latest materialization of `key` was built from (None: not built here)."""
    event = instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event else None
    value = materialization.metadata.get("raw_high_water") if materialization else None
    return None if value is None or value.value < 0 else int(value.value)
