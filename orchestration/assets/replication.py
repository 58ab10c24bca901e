"""raw.*: one multi-asset, materialized by one catch-up pass of the warehouse replicator.

One asset per raw table (keys `raw/<table>`, as the dbt sources are translated), plus
`raw/_replication_state`, the replicator's committed position, which the lag check belongs to.
A pass replicates every entity at once (the outbox is one ordered stream), so the tables are not
subsettable. Each table's `rows` metadata counts the versions this pass wrote to it.

The replicator is single-writer per warehouse: where `pms replicate --follow` runs (the demo),
leave the replication schedule off.
"""

import dagster as dg

from orchestration.resources import OpsStoreResource, WarehouseResource
from orchestration.retries import WAREHOUSE_RETRY, retry_only_transient
from warehouse.raw_schema import RAW_DATABASE, STATE_TABLE, raw_tables

GROUP = "raw"
STATE_KEY = dg.AssetKey([GROUP, STATE_TABLE])


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, table])


def _specs() -> list[dg.AssetSpec]:
    kinds = {"clickhouse", "python"}
    specs = [
        dg.AssetSpec(raw_key(name), group_name=GROUP, kinds=kinds,
                     description=f"Operational `{name}` replicated from the outbox: one row per entity version "
                                 "(ReplacingMergeTree(_version, _deleted)); grain: id × _version.",
                     metadata={"dagster/table_name": f"{RAW_DATABASE}.{name}"})
        for name in raw_tables()
    ]
    specs.append(dg.AssetSpec(STATE_KEY, group_name=GROUP, kinds=kinds,
                              description="The replicator's committed outbox position (low/high water, open gaps).",
                              metadata={"dagster/table_name": f"{RAW_DATABASE}.{STATE_TABLE}"}))
    return specs


def committed_high_water(client) -> int | None:
    """The highest outbox seq the replicator has committed to raw.*, or None before its first pass."""
    from warehouse.replication.state import load_state

    if not client.command(f"EXISTS TABLE `{RAW_DATABASE}`.`{STATE_TABLE}`"):
        return None
    return load_state(client, RAW_DATABASE).high_water


def new_rows_per_table(client, tables, since_version: int) -> dict[str, int]:
    """Row versions with an outbox seq above `since_version`, per raw table (this pass's writes)."""
    union = " union all ".join(
        f"select '{name}' as t, count() as n from `{RAW_DATABASE}`.`{name}` where _version > {{v:UInt64}}"
        for name in tables)
    rows = client.query(union, parameters={"v": since_version}).result_rows
    return {name: int(n) for name, n in rows}


@dg.multi_asset(specs=_specs(), name="replicate_outbox", retry_policy=WAREHOUSE_RETRY, can_subset=False)
def replicate_outbox(context: dg.AssetExecutionContext, warehouse: WarehouseResource, ops_store: OpsStoreResource):
    """Load every outbox event above the committed position into raw.*, then prune the outbox behind it."""
    from warehouse.replication import Replicator, replication_status

    with retry_only_transient(), warehouse.get_client() as client:
        replicator = Replicator(ops_store.engine, client)
        before = replicator.prepare().high_water
        loaded = replicator.run(follow=False, prune=True)
        per_table = new_rows_per_table(client, replicator.tables, before)
        status = replication_status(ops_store.engine, client)
    context.log.info(f"replicated {loaded} events; position {status.position}, lag {status.lag_seconds:.1f}s")
    for name, rows in per_table.items():
        yield dg.MaterializeResult(asset_key=raw_key(name), metadata={"rows": rows})
    yield dg.MaterializeResult(asset_key=STATE_KEY, metadata={
        "rows": loaded,
        "position": status.position,
        "high_water": status.high_water,
        "pending_events": status.pending_events,
        "lag_seconds": float(status.lag_seconds or 0.0),
    })
