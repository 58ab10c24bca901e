"""Asset checks that matter to the business (dbt's own tests arrive as checks through dagster-dbt).

* `raw/_replication_state` — replication lag below `CheckThresholds.replication_lag_seconds`.
* `raw/<table>` — live entities in raw.* (latest version, deletes dropped) equal the operational rows.
* `marts/fct_kpi_daily` — A/R and credit balances equal, to the cent, the sum of every patient's
  balance as the billing service computes it.
* `ml/*_model` — a new model is not worse than the previous version by more than a margin; if it is,
  the previous version stays current. Blocking, so scoring in the same run waits for the verdict.

When the operational store keeps moving the reconciliations cannot see one moment on both sides;
they then fail with WARN severity ("not comparable") rather than pass unseen.
"""

import dagster as dg
from orchestration import promotion
from orchestration.assets.dbt import FCT_KPI_DAILY, built_from_high_water
from orchestration.assets.ml import FORECAST_MODEL, NO_SHOW_MODEL
from orchestration.assets.replication import STATE_KEY, raw_key
from orchestration.reconcile import (marts_receivables, ops_receivables, ops_row_counts, raw_row_counts,
                                     stable_read)
from orchestration.resources import CheckThresholds, OpsStoreResource, PmsSettingsResource, WarehouseResource
from warehouse.raw_schema import raw_tables

ROW_COUNT_CHECK = "row_count_matches_ops"
WARN = dg.AssetCheckSeverity.WARN


def not_comparable(attempts: int, asset_key: dg.AssetKey | None = None, check_name: str | None = None,
                   **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=check_name, passed=False, severity=WARN,
        metadata={"attempts": attempts, **metadata},
        description="not comparable: the operational store kept changing, or raw.* / the marts were behind it, "
                    "during every attempt")


@dg.asset_check(asset=STATE_KEY, name="replication_lag_below_threshold",
                description="The oldest outbox event not yet in raw.* is younger than the threshold.")
def replication_lag(warehouse: WarehouseResource, ops_store: OpsStoreResource,
                    thresholds: CheckThresholds) -> dg.AssetCheckResult:
    from warehouse.replication import replication_status

    with warehouse.get_client() as client:
        status = replication_status(ops_store.engine, client)
    limit = thresholds.replication_lag_seconds
    if status.warehouse_error:
        return dg.AssetCheckResult(passed=False, description=f"warehouse unreachable: {status.warehouse_error}")
    lag = float(status.lag_seconds or 0.0)
    return dg.AssetCheckResult(passed=lag <= limit, description=f"lag {lag:.1f}s (limit {limit:g}s)", metadata={
        "lag_seconds": lag, "limit_seconds": limit, "pending_events": status.pending_events,
        "position": status.position, "high_water": status.high_water})


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(ROW_COUNT_CHECK, asset=raw_key(t),
                             description="Live entities in raw (latest version, not deleted) = operational rows.")
           for t in raw_tables()],
)
def raw_row_counts_match_ops(warehouse: WarehouseResource, ops_store: OpsStoreResource, thresholds: CheckThresholds):
    tables = sorted(raw_tables())
    with warehouse.get_client() as client:
        read = stable_read(ops_store.engine, client,
                           lambda: (ops_row_counts(ops_store.engine, tables), raw_row_counts(client, tables)),
                           attempts=thresholds.consistent_read_attempts)
    for table in tables:
        keys = {"asset_key": raw_key(table), "check_name": ROW_COUNT_CHECK}
        if read.value is None:
            yield not_comparable(read.attempts, **keys)
            continue
        ops, raw = read.value[0][table], read.value[1][table]
        yield dg.AssetCheckResult(**keys, passed=ops == raw, metadata={
            "ops_rows": ops, "raw_rows": raw, "difference": raw - ops, "high_water": read.high_water})


@dg.asset_check(asset=FCT_KPI_DAILY, name="ar_reconciles_with_ops",
                description="A/R (insurance, patient) and credit balances of the latest day equal, to the cent, "
                            "the sum of every patient's balance in the operational store.")
def ar_reconciles_with_ops(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
                           ops_store: OpsStoreResource, thresholds: CheckThresholds) -> dg.AssetCheckResult:
    built_from = built_from_high_water(context.instance, FCT_KPI_DAILY)
    if built_from is None:
        return dg.AssetCheckResult(passed=False, severity=WARN,
                                   description="not comparable: the marts were not built by this Dagster instance")
    engine = ops_store.engine
    with warehouse.get_client() as client:
        read = stable_read(engine, client, lambda: (ops_receivables(engine), marts_receivables(client)),
                           attempts=thresholds.consistent_read_attempts, expected_high_water=built_from)
    if read.value is None:
        return not_comparable(read.attempts, built_from_high_water=built_from, raw_high_water=read.high_water)
    ops, marts = read.value
    differences = {k: float(getattr(marts, k) - getattr(ops, k)) for k in ("insurance", "patient", "credit")}
    mismatched = [k for k, v in differences.items() if v]
    return dg.AssetCheckResult(
        passed=not mismatched,
        description=("reconciled to the cent" if not mismatched else f"differs on {', '.join(mismatched)}"),
        metadata={**ops.as_metadata("ops"), **marts.as_metadata("marts"),
                  **{f"difference_{k}": v for k, v in differences.items()}, "high_water": read.high_water})


def model_metrics_check(asset_key: dg.AssetKey, registry_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=asset_key, name="metrics_not_worse_than_previous", blocking=True,
                    description=f"The newest {registry_name} version is within the margins of the previous one; "
                                "else it is rejected and the previous version stays current.")
    def check(context: dg.AssetCheckExecutionContext, pms: PmsSettingsResource,
              thresholds: CheckThresholds) -> dg.AssetCheckResult:
        margins = {rule.margin: getattr(thresholds, rule.margin) for rule in promotion.RULES[registry_name]}
        review = promotion.review(registry_name, margins, root=pms.models_root)
        metadata = {"version": review.version or "", "previous": review.previous or ""}
        for c in review.comparisons:
            metadata.update({f"{c.rule.metric}_new": c.new, f"{c.rule.metric}_previous": c.old,
                             f"{c.rule.metric}_margin": c.allowed})
        if review.version is None:
            return dg.AssetCheckResult(passed=False, description="no model in the registry", metadata=metadata)
        if review.regressions:
            promotion.reject(registry_name, review.version, root=pms.models_root)
            worse = ", ".join(c.rule.metric for c in review.regressions)
            context.log.warning(f"{registry_name} {review.version} rejected ({worse}); {review.previous} stays current")
            return dg.AssetCheckResult(passed=False, metadata={**metadata, "current": review.previous},
                                       description=f"worse on {worse}: rejected, {review.previous} stays current")
        return dg.AssetCheckResult(passed=True, metadata={**metadata, "current": review.version},
                                   description="first version" if review.previous is None else "within margins")
    return check


business_checks = [
    replication_lag,
    raw_row_counts_match_ops,
    ar_reconciles_with_ops,
    model_metrics_check(NO_SHOW_MODEL, "no_show"),
    model_metrics_check(FORECAST_MODEL, "revenue_forecast"),
]
