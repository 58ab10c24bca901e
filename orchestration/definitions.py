"""The code location: the only place assets, checks, jobs, schedules, sensors and resources are assembled.

Load with `dagster-webserver -m orchestration.definitions` (or `pms demo`, which also runs the daemon).
"""

import dagster as dg

from orchestration.assets.dbt import dbt_models
from orchestration.assets.ml import ml_assets
from orchestration.assets.replication import replicate_outbox
from orchestration.checks import business_checks
from orchestration.jobs import jobs
from orchestration.resources import build_resources
from orchestration.schedules import schedules
from orchestration.sensors import sensors

assets = [replicate_outbox, dbt_models, *ml_assets]

defs = dg.Definitions(
    assets=assets,
    asset_checks=business_checks,
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources=build_resources(),
)
