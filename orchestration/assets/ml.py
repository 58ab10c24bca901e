"""ML assets: train and score the no-show model and the revenue forecast with `ml.jobs`.

Model assets are registry versions (`PMS_DATA_DIR/models`); scoring assets are the `ml.*` tables. Each
depends on the marts its job reads, looked up from the dbt assets by model name, so the graph shows
what a model was trained on. A new model is only current once its metrics check passed
(checks.py): that check is blocking, so scoring waits for it.
"""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from orchestration.assets.dbt import dbt_models
from orchestration.resources import PmsSettingsResource, WarehouseResource
from orchestration.retries import WAREHOUSE_RETRY, retry_only_transient

GROUP = "ml"
NO_SHOW_MODEL = dg.AssetKey([GROUP, "no_show_model"])
NO_SHOW_SCORES = dg.AssetKey([GROUP, "no_show_scores"])
FORECAST_MODEL = dg.AssetKey([GROUP, "revenue_forecast_model"])
FORECAST = dg.AssetKey([GROUP, "revenue_forecast"])

FCT_APPOINTMENTS = get_asset_key_for_model([dbt_models], "fct_appointments")
DIM_PATIENT = get_asset_key_for_model([dbt_models], "dim_patient")
FCT_PAYMENTS = get_asset_key_for_model([dbt_models], "fct_payments")

_ML = {"group_name": GROUP, "retry_policy": WAREHOUSE_RETRY}


def _floats(metrics: dict, names: tuple[str, ...]) -> dict[str, float]:
    return {name: float(metrics[name]) for name in names if name in metrics}


@dg.asset(key=NO_SHOW_MODEL, deps=[FCT_APPOINTMENTS, DIM_PATIENT], kinds={"scikit-learn"}, **_ML,
          description="No-show classifier, a new registry version per materialization (grain: one model version).")
def no_show_model(warehouse: WarehouseResource, pms: PmsSettingsResource) -> dg.MaterializeResult:
    from ml import jobs

    with retry_only_transient(), warehouse.get_client() as client:
        artifact = jobs.train_no_show(client, root=pms.models_root)
    holdout = artifact.card["metrics"]["gradient_boosting"]
    return dg.MaterializeResult(metadata={"version": artifact.version,
                                          **_floats(holdout, ("roc_auc", "brier", "brier_base_rate", "n"))})


@dg.asset(key=NO_SHOW_SCORES, deps=[NO_SHOW_MODEL, FCT_APPOINTMENTS], kinds={"clickhouse"}, **_ML,
          description="ml.no_show_scores: risk per upcoming appointment from the current model "
                      "(grain and key: appointment_id × model_version).",
          metadata={"dagster/table_name": "ml.no_show_scores"})
def no_show_scores(warehouse: WarehouseResource, pms: PmsSettingsResource) -> dg.MaterializeResult:
    from ml import jobs

    with retry_only_transient(), warehouse.get_client() as client:
        version, rows = jobs.score_no_show(client, root=pms.models_root)
    return dg.MaterializeResult(metadata={"model_version": version, "rows": rows})


@dg.asset(key=FORECAST_MODEL, deps=[FCT_PAYMENTS], kinds={"scikit-learn"}, output_required=False, **_ML,
          description="Weekly payments forecast models (practice and per facility), a registry version per "
                      "materialization. Skipped while the practice has too little payment history to backtest.")
def revenue_forecast_model(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                           pms: PmsSettingsResource):
    from ml import jobs
    from ml.forecast.train import HORIZON, MIN_TRAIN_WEEKS

    needed = MIN_TRAIN_WEEKS + HORIZON
    with retry_only_transient(), warehouse.get_client() as client:
        weeks = payment_history_weeks(client)
        if weeks < needed:
            context.log.warning(f"{weeks} weeks of payments; a forecast needs {needed}: not trained yet")
            return
        artifact = jobs.train_forecast(client, root=pms.models_root)
    practice = artifact.card["metrics"]["practice"]
    yield dg.MaterializeResult(metadata={"version": artifact.version, "history_weeks": weeks,
                                         **_floats(practice, ("mase_model", "mase_seasonal_naive", "coverage_80"))})


def payment_history_weeks(client) -> int:
    sql = "select if(count() = 0, 0, dateDiff('week', min(received_date), max(received_date)) + 1) from marts.fct_payments"
    return int(client.command(sql))


@dg.asset(key=FORECAST, deps=[FORECAST_MODEL], kinds={"clickhouse"}, **_ML,
          description="ml.revenue_forecast: the next weeks of payments with 80% and 95% intervals "
                      "(grain and key: model_version × facility_id × week_start).",
          metadata={"dagster/table_name": "ml.revenue_forecast"})
def revenue_forecast(warehouse: WarehouseResource, pms: PmsSettingsResource) -> dg.MaterializeResult:
    from ml import jobs

    with retry_only_transient(), warehouse.get_client() as client:
        version, rows = jobs.write_forecast(client, root=pms.models_root)
    return dg.MaterializeResult(metadata={"model_version": version, "rows": rows})


ml_assets = [no_show_model, no_show_scores, revenue_forecast_model, revenue_forecast]
