"""Sensors: dbt after replication brought new rows, scoring after a new model.

`dbt_after_replication` watches the replicator's committed high water in raw.* rather than the
replication asset's materializations, so it sees rows however they arrived: the replication job or
`pms replicate --follow`. It compares with the high water the last build was made from (recorded by
the dbt asset) and never queues a second build behind a running one.
"""

import dagster as dg

from orchestration.assets.dbt import FCT_KPI_DAILY, built_from_high_water
from orchestration.assets.ml import FORECAST, FORECAST_MODEL, NO_SHOW_MODEL, NO_SHOW_SCORES
from orchestration.assets.replication import committed_high_water
from orchestration.jobs import dbt_job, scoring_job
from orchestration.resources import WarehouseResource

ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED]
SCORED_BY = ((NO_SHOW_MODEL, NO_SHOW_SCORES), (FORECAST_MODEL, FORECAST))


def job_is_active(instance: dg.DagsterInstance, job_name: str) -> bool:
    return bool(instance.get_run_records(dg.RunsFilter(job_name=job_name, statuses=ACTIVE), limit=1))


@dg.sensor(name="dbt_after_replication", job=dbt_job, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="`dbt build` when raw.* holds outbox events newer than the last build's.")
def dbt_after_replication(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    try:
        with warehouse.get_client() as client:
            high_water = committed_high_water(client)
    except Exception as exc:  # noqa: BLE001 - an unreachable warehouse is a reason to wait, not a sensor error
        return dg.SkipReason(f"warehouse unreachable: {type(exc).__name__}")
    if not high_water:
        return dg.SkipReason("nothing replicated yet")
    built = max(int(context.cursor or 0), built_from_high_water(context.instance, FCT_KPI_DAILY) or 0)
    if high_water <= built:
        return dg.SkipReason(f"raw.* unchanged since the last build (outbox seq {built})")
    if job_is_active(context.instance, dbt_job.name):
        return dg.SkipReason("a dbt build is already queued or running")
    context.update_cursor(str(high_water))
    return dg.RunRequest(run_key=f"raw-seq-{high_water}", tags={"pms/raw_high_water": str(high_water)})


@dg.sensor(name="scoring_after_new_model", job=scoring_job, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Score with a model as soon as a training run that materialized it has finished.")
def scoring_after_new_model(context: dg.SensorEvaluationContext):
    requests = []
    for model, scores in SCORED_BY:
        trained = context.instance.get_latest_materialization_event(model)
        if trained is None:
            continue
        scored = context.instance.get_latest_materialization_event(scores)
        if scored is not None and scored.timestamp >= trained.timestamp:
            continue
        run = context.instance.get_run_by_id(trained.run_id)
        if run is not None and not run.is_finished:
            continue  # its own run may still score it, after the blocking metrics check
        requests.append(dg.RunRequest(run_key=f"{model.to_user_string()}@{trained.run_id}", asset_selection=[scores]))
    return requests or dg.SkipReason("every model's latest version is scored")


sensors = [dbt_after_replication, scoring_after_new_model]
