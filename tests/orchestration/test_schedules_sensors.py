"""Schedules and sensors produce the run requests they promise (no warehouse: its answer is stubbed)."""

from datetime import UTC, datetime

import dagster as dg
import pytest

NO_SHOW_MODEL, NO_SHOW_SCORES = dg.AssetKey(["ml", "no_show_model"]), dg.AssetKey(["ml", "no_show_scores"])
FORECAST_MODEL, FORECAST = dg.AssetKey(["ml", "revenue_forecast_model"]), dg.AssetKey(["ml", "revenue_forecast"])


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def high_water(monkeypatch):
    """What the sensor reads from raw._replication_state; set `.value`, or an exception to raise."""
    import orchestration.sensors as sensors

    class Probe:
        value: int | None | Exception = None

    probe = Probe()

    def committed_high_water(_client):
        if isinstance(probe.value, Exception):
            raise probe.value
        return probe.value

    monkeypatch.setattr(sensors, "committed_high_water", committed_high_water)
    return probe


def _warehouse():
    from orchestration.resources import WarehouseResource

    class Offline(WarehouseResource):  # the probe above answers; no client is ever used
        def get_client(self, **_):
            from contextlib import nullcontext

            return nullcontext(None)

    return Offline()


def _evaluate(sensor, instance, cursor=None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": _warehouse()})
    return sensor.evaluate_tick(context), context


def test_schedules_request_their_jobs():
    from orchestration.schedules import nightly_scoring, replication_every_minute, weekly_training

    when = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # a Sunday
    for schedule, cron in ((replication_every_minute, "* * * * *"), (nightly_scoring, "0 2 * * *"),
                           (weekly_training, "0 3 * * 0")):
        assert schedule.cron_schedule == cron
        data = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=when))
        assert len(data.run_requests) == 1 and data.run_requests[0].job_name in (None, schedule.job_name)


def test_dbt_sensor_builds_after_new_rows_once(instance, high_water):
    from orchestration.sensors import dbt_after_replication

    high_water.value = None
    data, _ = _evaluate(dbt_after_replication, instance)
    assert not data.run_requests and "nothing replicated" in data.skip_message

    high_water.value = 120
    data, context = _evaluate(dbt_after_replication, instance)
    assert [r.run_key for r in data.run_requests] == ["raw-seq-120"]
    assert data.cursor == "120"

    data, _ = _evaluate(dbt_after_replication, instance, cursor="120")
    assert not data.run_requests and "unchanged" in data.skip_message


def test_dbt_sensor_knows_what_the_last_build_saw(instance, high_water):
    from orchestration.assets.dbt import FCT_KPI_DAILY
    from orchestration.sensors import dbt_after_replication

    instance.report_runless_asset_event(dg.AssetMaterialization(FCT_KPI_DAILY, metadata={"raw_high_water": 300}))
    high_water.value = 300
    data, _ = _evaluate(dbt_after_replication, instance)
    assert not data.run_requests  # a build (the demo's first materialization) already saw seq 300
    high_water.value = 301
    data, _ = _evaluate(dbt_after_replication, instance)
    assert [r.run_key for r in data.run_requests] == ["raw-seq-301"]


def test_dbt_sensor_waits_for_a_running_build(instance, high_water):
    from orchestration.jobs import dbt_job
    from orchestration.sensors import dbt_after_replication

    instance.add_run(dg.DagsterRun(job_name=dbt_job.name, run_id="a-running-build",
                                   status=dg.DagsterRunStatus.STARTED))
    high_water.value = 500
    data, _ = _evaluate(dbt_after_replication, instance, cursor="400")
    assert not data.run_requests and "already queued or running" in data.skip_message
    assert data.cursor in (None, "400")  # the rows are still owed a build


def test_dbt_sensor_skips_while_the_warehouse_is_down(instance, high_water):
    from orchestration.sensors import dbt_after_replication

    high_water.value = ConnectionRefusedError()
    data, _ = _evaluate(dbt_after_replication, instance)
    assert not data.run_requests and "unreachable" in data.skip_message


def test_scoring_follows_a_new_model(instance):
    from orchestration.sensors import scoring_after_new_model

    def tick():
        return scoring_after_new_model.evaluate_tick(dg.build_sensor_context(instance=instance))

    assert not tick().run_requests
    instance.report_runless_asset_event(dg.AssetMaterialization(NO_SHOW_MODEL, metadata={"version": "v2"}))
    requests = tick().run_requests
    assert [r.asset_selection for r in requests] == [[NO_SHOW_SCORES]]
    instance.report_runless_asset_event(dg.AssetMaterialization(NO_SHOW_SCORES))
    instance.report_runless_asset_event(dg.AssetMaterialization(FORECAST_MODEL))
    assert [r.asset_selection for r in tick().run_requests] == [[FORECAST]]
    instance.report_runless_asset_event(dg.AssetMaterialization(FORECAST))
    assert not tick().run_requests


def test_scoring_waits_for_the_training_run_to_finish(instance):
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData

    from orchestration.sensors import scoring_after_new_model

    run = instance.add_run(dg.DagsterRun(job_name="ml_training", run_id="training-in-progress",
                                         status=dg.DagsterRunStatus.STARTED))
    trained = DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, job_name=run.job_name,
                           event_specific_data=StepMaterializationData(dg.AssetMaterialization(NO_SHOW_MODEL)))
    instance.report_dagster_event(trained, run_id=run.run_id)
    data = scoring_after_new_model.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert not data.run_requests  # the run's own blocking metrics check decides first
