"""Run the dbt project (``dbt/``) against the configured ClickHouse: ``pms dbt build``, ``pms dbt docs generate``, ...

``dbt/profiles.yml`` reads its connection from ``DBT_CLICKHOUSE_*`` environment variables; ``dbt_env()`` derives
them from ``CLICKHOUSE_URL`` the same way ``warehouse.client.get_client()`` does, so dbt, the replicator, the API
and the dashboards always talk to the same server. dbt runs in a subprocess (its own logging, no global state in
the caller); its ``target/`` and ``logs/`` go under ``PMS_DATA_DIR/dbt`` so the repository stays clean and each
data directory (a test session, a demo) has its own manifest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import typer

from pms.settings import get_settings
from warehouse.client import client_kwargs

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"

# Mount with: app.command("dbt", context_settings=DBT_CONTEXT_SETTINGS, add_help_option=False)(dbt_command)
DBT_CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def dbt_env(url: str | None = None) -> dict[str, str]:
    """Environment variables for ``dbt/profiles.yml`` and dbt itself, from ``url`` (default ``CLICKHOUSE_URL``)."""
    kwargs = client_kwargs(url)
    work_dir = Path(get_settings().pms_data_dir).resolve() / "dbt"
    return {
        "DBT_CLICKHOUSE_HOST": str(kwargs["host"]),
        "DBT_CLICKHOUSE_PORT": str(kwargs["port"]),
        "DBT_CLICKHOUSE_USER": str(kwargs.get("username") or "default"),
        "DBT_CLICKHOUSE_PASSWORD": str(kwargs.get("password") or ""),
        "DBT_CLICKHOUSE_SECURE": "True" if kwargs.get("interface") == "https" else "False",
        "DBT_CLICKHOUSE_SCHEMA": str(kwargs.get("database") or "default"),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(work_dir / "target"),
        "DBT_LOG_PATH": str(work_dir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
    }


_DBT_MAIN = "import sys; from dbt.cli.main import cli; sys.exit(cli())"


def dbt_command_line(args: Sequence[str]) -> list[str]:
    """``dbt <args>`` with this interpreter (the dbt that is installed beside the project's code)."""
    return [sys.executable, "-c", _DBT_MAIN, *args]


def run_dbt(args: Sequence[str], *, url: str | None = None, extra_env: Mapping[str, str] | None = None,
            capture_output: bool = False) -> int | subprocess.CompletedProcess:
    """Run ``dbt <args>`` on the project; returns dbt's exit code (0 ok, 1 failures, 2 error).

    ``capture_output=True`` returns the CompletedProcess (text stdout/stderr) instead, for callers that
    report dbt's output themselves (tests, Dagster).
    """
    env = {**os.environ, **dbt_env(url), **(extra_env or {})}
    Path(env["DBT_TARGET_PATH"]).mkdir(parents=True, exist_ok=True)
    result = subprocess.run(dbt_command_line(args), env=env, cwd=DBT_PROJECT_DIR, check=False,
                            capture_output=capture_output, text=capture_output)
    return result if capture_output else result.returncode


def dbt_command(ctx: typer.Context) -> None:
    """Run any dbt command on the marts project: `pms dbt build`, `pms dbt test -s x`; `pms dbt docs [--port N]`
    generates the docs from the warehouse as it is, then serves them (dbt's own `docs` needs both steps)."""
    args = list(ctx.args)
    if not args:
        typer.echo("usage: pms dbt <dbt command and options>, e.g. `pms dbt build` or `pms dbt docs`")
        raise typer.Exit(code=2)
    if args[0] == "docs" and (len(args) == 1 or args[1].startswith("-")):
        code = run_dbt(["docs", "generate"])
        if code:
            raise typer.Exit(code=code)
        args = ["docs", "serve", *args[1:]]
    raise typer.Exit(code=run_dbt(args))
