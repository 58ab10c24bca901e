"""Jobs: what the schedules, the sensors and the UI launch. Checks on the selected assets run with them."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.dbt import dbt_models
from orchestration.assets.ml import FORECAST, FORECAST_MODEL, NO_SHOW_MODEL, NO_SHOW_SCORES
from orchestration.assets.replication import replicate_outbox

replication_job = dg.define_asset_job(
    "replication", selection=dg.AssetSelection.assets(replicate_outbox),
    description="One replicator catch-up pass: outbox → raw.*, then the lag and row-count checks.")

dbt_job = dg.define_asset_job(
    "dbt_build", selection=dg.AssetSelection.assets(dbt_models),
    description="`dbt build` of every model with its tests, then the A/R reconciliation.")

training_job = dg.define_asset_job(
    "ml_training", selection=dg.AssetSelection.assets(NO_SHOW_MODEL, FORECAST_MODEL),
    description="Train both models; a version worse than the current one is rejected by its check.")

scoring_job = dg.define_asset_job(
    "ml_scoring", selection=dg.AssetSelection.assets(NO_SHOW_SCORES, FORECAST),
    description="Score upcoming appointments and write the revenue forecast with the current models.")

refresh_job = dg.define_asset_job(
    "refresh_all", selection=dg.AssetSelection.all(),
    description="Everything in order: replicate → dbt build → train → score, with every check.")

jobs = [replication_job, dbt_job, training_job, scoring_job, refresh_job]
