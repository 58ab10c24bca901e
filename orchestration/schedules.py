"""Schedules. Times are UTC.

Replication every minute is off by default: the replicator is single-writer per warehouse, and
`pms demo` (like a production deployment) runs `pms replicate --follow` instead. Turn it on where
nothing follows the outbox. dbt builds are driven by a sensor on raw.* (sensors.py), not by time.
"""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import replication_job, scoring_job, training_job

replication_every_minute = dg.ScheduleDefinition(
    name="replication_every_minute", job=replication_job, cron_schedule="* * * * *",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="A replicator catch-up pass each minute, for deployments without `pms replicate --follow`.")

nightly_scoring = dg.ScheduleDefinition(
    name="nightly_scoring", job=scoring_job, cron_schedule="0 2 * * *",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Score the next days' appointments and refresh the forecast with the current models.")

weekly_training = dg.ScheduleDefinition(
    name="weekly_training", job=training_job, cron_schedule="0 3 * * 0",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Retrain both models on Sunday night; scoring follows through the new-model sensor.")

schedules = [replication_every_minute, nightly_scoring, weekly_training]
