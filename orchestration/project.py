"""The one DbtProject: `dbt/` with its shipped `profiles.yml`, artifacts under `PMS_DATA_DIR/dbt/dagster`.

`@dbt_assets` needs a manifest when the code location is imported, and the webserver, the daemon,
their code servers and every run worker import it. `dbt parse` takes half a minute on this project,
so it runs only when the manifest is missing or older than a file of the dbt project; otherwise the
prebuilt one is used. `pms demo` builds it before any Dagster process starts, so they never race to
write it; a parse writes into a private folder and moves the manifest into place atomically.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dagster_dbt import DbtProject

from pms.settings import get_settings
from warehouse.dbt_runner import DBT_PROJECT_DIR, run_dbt

_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests")


def artifacts_dir() -> Path:
    """Where Dagster's dbt artifacts live: the parsed manifest and one target folder per invocation."""
    return (get_settings().pms_data_dir / "dbt" / "dagster").resolve()


def newest_source_mtime(project_dir: Path = DBT_PROJECT_DIR) -> float:
    newest = 0.0
    for name in _SOURCES:
        path = project_dir / name
        files = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def manifest_is_current(manifest: Path) -> bool:
    return manifest.is_file() and manifest.stat().st_mtime >= newest_source_mtime()


def ensure_manifest(target: Path) -> Path:
    """`target/manifest.json`, parsed again only when missing or stale. Returns its path."""
    manifest = target / "manifest.json"
    if manifest_is_current(manifest):
        return manifest
    target.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=target))
    try:
        done = run_dbt(["parse"], extra_env={"DBT_TARGET_PATH": str(scratch), "DBT_LOG_PATH": str(scratch)},
                       capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        # partial_parse.msgpack first: dbt invocations copy it to skip most of their own parse.
        os.replace(scratch / "partial_parse.msgpack", target / "partial_parse.msgpack")
        os.replace(scratch / "manifest.json", manifest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


def build_project() -> DbtProject:
    target = artifacts_dir() / "manifest"
    ensure_manifest(target)
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=target)


dbt_project = build_project()
