"""The Dagster instance of a data directory: `PMS_DATA_DIR/dagster` (runs, event log, schedule state).

Its `dagster.yaml` queues runs and starts one at a time: on a 2-core machine two dbt builds, or a
build and a replicator pass, would only slow each other down, and the replicator is single-writer.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

DAGSTER_YAML = """\
# Written by Spark Den PMS (orchestration/instance.py).
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
telemetry:
  enabled: false
nux:
  enabled: false
"""

UNFINISHED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
              dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def prepare_home(data_dir: Path) -> Path:
    """Create `data_dir/dagster` with the project's dagster.yaml; returns it (for DAGSTER_HOME)."""
    home = Path(data_dir).resolve() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    return home


def cancel_unfinished_runs(instance: dg.DagsterInstance, message: str) -> int:
    """Mark runs left queued or running by processes that are gone as canceled.

    Nothing would ever finish them, and the dbt sensor waits while a build looks active.
    """
    records = instance.get_run_records(dg.RunsFilter(statuses=UNFINISHED))
    for record in records:
        instance.report_run_canceled(record.dagster_run, message=message)
    return len(records)
