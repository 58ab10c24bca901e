"""The code location loads, and what it declares hangs together (no warehouse needed)."""

import dagster as dg
import pytest


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from orchestration.definitions import defs

    dg.Definitions.validate_loadable(defs)
    return defs


def test_jobs_resolve(defs):
    for name in ("replication", "dbt_build", "ml_training", "ml_scoring", "refresh_all"):
        assert defs.resolve_job_def(name).name == name


def test_schedules_and_sensors_target_jobs(defs):
    targets = {s.name: s.job_name for s in defs.schedules}
    assert targets == {"replication_every_minute": "replication", "nightly_scoring": "ml_scoring",
                       "weekly_training": "ml_training"}
    assert {s.name: s.job_name for s in defs.sensors} == {"dbt_after_replication": "dbt_build",
                                                           "scoring_after_new_model": "ml_scoring"}
    # The demo follows the outbox with `pms replicate --follow`: a second replicator must not start by default.
    replication = next(s for s in defs.schedules if s.name == "replication_every_minute")
    assert replication.default_status == dg.DefaultScheduleStatus.STOPPED


def test_every_dependency_is_an_asset_of_the_location(defs):
    graph = defs.resolve_asset_graph()
    keys = set(graph.get_all_asset_keys())
    dangling = {dep for key in keys for dep in graph.get(key).parent_keys if dep not in keys}
    assert not dangling  # every dbt source is a replicated raw table


def test_asset_layout(defs):
    from warehouse.raw_schema import raw_tables

    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {f"raw/{t}" for t in raw_tables()} | {"raw/_replication_state"} <= keys
    assert {"staging/stg_ops__payments", "intermediate/int_ar_balance_history", "marts/fct_kpi_daily",
            "ml/no_show_model", "ml/no_show_scores", "ml/revenue_forecast_model", "ml/revenue_forecast"} <= keys
    groups = {graph.get(dg.AssetKey.from_user_string(k)).group_name for k in keys}
    assert {"raw", "staging", "intermediate", "marts_revenue_cycle", "marts_executive", "ml"} <= groups
    fct_appointments = dg.AssetKey(["marts", "fct_appointments"])
    assert fct_appointments in graph.get(dg.AssetKey(["ml", "no_show_model"])).parent_keys


def test_dbt_tests_and_business_checks_are_checks(defs):
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("marts/fct_kpi_daily", "ar_reconciles_with_ops") in checks
    assert ("raw/_replication_state", "replication_lag_below_threshold") in checks
    assert ("raw/payments", "row_count_matches_ops") in checks
    assert ("ml/no_show_model", "metrics_not_worse_than_previous") in checks
    assert sum(1 for asset, _ in checks if asset.startswith("marts/")) > 50  # dbt tests on the marts


def test_model_checks_block_scoring(defs):
    graph = defs.resolve_asset_graph()
    blocking = {k.asset_key.to_user_string() for k in graph.asset_check_keys if graph.get_check_spec(k).blocking}
    assert {"ml/no_show_model", "ml/revenue_forecast_model"} <= blocking
