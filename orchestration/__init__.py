"""Dagster orchestration of the analytics flow: replicate → dbt build → ml train/score, with checks."""
