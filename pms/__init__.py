"""Spark Den PMS: shared kernel (settings, logging, the `pms` CLI)."""
