"""warehouse.dbt_runner: CLICKHOUSE_URL → dbt's profile variables, and the `pms dbt` pass-through command."""

import sys

import typer
from typer.testing import CliRunner

from warehouse import dbt_runner
from warehouse.dbt_runner import DBT_CONTEXT_SETTINGS, DBT_PROJECT_DIR, dbt_command, dbt_env


def test_env_from_a_full_url():
    env = dbt_env("https://an%40alyst:p%3Ass@ch.example.com:9440/warehouse")
    assert env["DBT_CLICKHOUSE_HOST"] == "ch.example.com"
    assert env["DBT_CLICKHOUSE_PORT"] == "9440"
    assert env["DBT_CLICKHOUSE_USER"] == "an@alyst"
    assert env["DBT_CLICKHOUSE_PASSWORD"] == "p:ss"
    assert env["DBT_CLICKHOUSE_SECURE"] == "True"
    assert env["DBT_CLICKHOUSE_SCHEMA"] == "warehouse"
    assert env["DBT_PROJECT_DIR"] == env["DBT_PROFILES_DIR"] == str(DBT_PROJECT_DIR)


def test_env_defaults_to_the_embedded_warehouse():
    env = dbt_env("http://127.0.0.1:8123")
    assert (env["DBT_CLICKHOUSE_HOST"], env["DBT_CLICKHOUSE_PORT"]) == ("127.0.0.1", "8123")
    assert env["DBT_CLICKHOUSE_SECURE"] == "False"
    assert env["DBT_CLICKHOUSE_SCHEMA"] == "default"
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"
    assert env["DBT_TARGET_PATH"].endswith("target")


def test_dbt_command_passes_every_argument_through(monkeypatch):
    seen = []
    monkeypatch.setattr(dbt_runner, "run_dbt", lambda args: seen.append(args) or 0)
    app = typer.Typer()
    app.command("dbt", context_settings=DBT_CONTEXT_SETTINGS, add_help_option=False)(dbt_command)

    @app.command("other")
    def other():  # a second command, so `dbt` is a subcommand as in `pms`
        pass

    result = CliRunner().invoke(app, ["dbt", "build", "--select", "fct_claims+", "--full-refresh"])
    assert result.exit_code == 0, result.output
    assert seen == [["build", "--select", "fct_claims+", "--full-refresh"]]
    assert CliRunner().invoke(app, ["dbt"]).exit_code == 2


def test_dbt_docs_generates_then_serves(monkeypatch):
    """`pms dbt docs` is the whole docs site: generated from the warehouse, then served; a failed generate
    stops there (serving a site without its catalog shows an error page). The two subcommands pass through."""
    seen, codes = [], {"generate": 0}
    monkeypatch.setattr(dbt_runner, "run_dbt", lambda args: seen.append(args) or codes.get(args[1], 0))
    app = typer.Typer()
    app.command("dbt", context_settings=DBT_CONTEXT_SETTINGS, add_help_option=False)(dbt_command)

    @app.command("other")
    def other():
        pass

    assert CliRunner().invoke(app, ["dbt", "docs", "--port", "8081"]).exit_code == 0
    assert seen == [["docs", "generate"], ["docs", "serve", "--port", "8081"]]
    seen.clear()
    assert CliRunner().invoke(app, ["dbt", "docs", "generate", "--no-compile"]).exit_code == 0
    assert seen == [["docs", "generate", "--no-compile"]]
    seen.clear()
    codes["generate"] = 2
    assert CliRunner().invoke(app, ["dbt", "docs"]).exit_code == 2
    assert seen == [["docs", "generate"]]


def test_command_line_uses_this_interpreter():
    assert dbt_runner.dbt_command_line(["debug"])[0] == sys.executable
    assert dbt_runner.dbt_command_line(["debug"])[-1] == "debug"
