"""The `pms` command: one Typer app that mounts each package's commands."""

import typer

from dashboards.cli import dashboards_command
from ml.cli import ml_app
from ops_api.cli import api_command, audit_app, db_app, keys_app, users_app
from orchestration.cli import dagster_app
from pms.demo import demo_command
from simulator.cli import seed_command
from warehouse.cli import replicate_command, warehouse_app
from warehouse.dbt_runner import DBT_CONTEXT_SETTINGS, dbt_command

app = typer.Typer(help="Spark Den PMS", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(ml_app, name="ml")
app.add_typer(dagster_app, name="dagster")
app.command("api")(api_command)
app.command("replicate")(replicate_command)
app.command("seed")(seed_command)
app.command("dashboards")(dashboards_command)
app.command("dbt", context_settings=DBT_CONTEXT_SETTINGS, add_help_option=False)(dbt_command)
app.command("demo")(demo_command)
