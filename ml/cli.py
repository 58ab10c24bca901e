"""`pms ml train|score|models`: the Typer app ``ml_app`` (mounted by pms/cli.py as ``ml``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

ml_app = typer.Typer(help="Predictive models: no-show risk and revenue forecast", no_args_is_help=True)
console = Console()


class Which(StrEnum):
    all = "all"
    no_show = "no-show"
    forecast = "forecast"


ModelOption = Annotated[Which, typer.Option("--model", help="which model")]


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True)


def _client():
    from warehouse.client import get_client

    return get_client()


def _metrics_table(title: str, rows: dict[str, dict[str, float]], columns: list[str]) -> Table:
    table = Table(title=title)
    table.add_column("")
    for column in columns:
        table.add_column(column, justify="right")
    for name, metrics in rows.items():
        table.add_row(name, *(f"{metrics[c]:.3f}" if c in metrics else "-" for c in columns))
    return table


@ml_app.command("train")
def train_command(
    model: ModelOption = Which.all,
    test_fraction: Annotated[float, typer.Option(help="latest share of appointments held out for evaluation")] = 0.2,
    threads: Annotated[int, typer.Option(help="OpenMP threads for fitting (1 is fastest on a busy host)")] = 1,
) -> None:
    """Train on the marts, store a new model version, write its metrics to ml.model_metrics."""
    from ml import jobs

    client = _client()
    if model in (Which.all, Which.no_show):
        with _progress() as progress:
            task = progress.add_task("no-show model", total=None)
            artifact = jobs.train_no_show(client, test_fraction=test_fraction, threads=threads, progress=lambda step: progress.update(task, description=f"no-show model: {step}"))
        console.print(_metrics_table(f"no-show {artifact.version} (holdout)", artifact.card["metrics"], ["roc_auc", "pr_auc", "brier", "brier_base_rate"]))
    if model in (Which.all, Which.forecast):
        with _progress() as progress:
            progress.add_task("revenue forecast: backtesting", total=None)
            artifact = jobs.train_forecast(client)
        console.print(_metrics_table(f"revenue forecast {artifact.version} (backtest)", artifact.card["metrics"], ["mase_model", "mase_seasonal_naive", "mase_moving_average", "coverage_80", "coverage_95"]))


@ml_app.command("score")
def score_command(
    model: ModelOption = Which.all,
    version: Annotated[str | None, typer.Option(help="model version (default: latest); needs --model")] = None,
) -> None:
    """Score upcoming appointments and write the revenue forecast with stored models (idempotent)."""
    from ml import jobs, registry

    if version and model is Which.all:
        raise typer.BadParameter("--version needs --model no-show or --model forecast")
    wanted = {"no_show": model in (Which.all, Which.no_show), "revenue_forecast": model in (Which.all, Which.forecast)}
    missing = [name for name, want in wanted.items() if want and not registry.versions(name)]
    if missing:
        console.print(f"[red]error:[/red] no trained {', '.join(missing)} model under {registry.models_dir()}; run `pms ml train`")
        raise typer.Exit(code=1)
    client = _client()
    try:
        with _progress() as progress:
            if wanted["no_show"]:
                progress.add_task("scoring upcoming appointments", total=None)
                used, rows = jobs.score_no_show(client, version=version)
                console.print(f"no-show {used}: scored {rows:,} upcoming appointments")
            if wanted["revenue_forecast"]:
                progress.add_task("writing the revenue forecast", total=None)
                used, rows = jobs.write_forecast(client, version=version)
                console.print(f"revenue forecast {used}: wrote {rows:,} weekly rows")
    except FileNotFoundError as exc:  # an unknown --version
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None


@ml_app.command("models")
def models_command() -> None:
    """List stored model versions, newest first."""
    from ml import registry

    table = Table("model", "version", "created_at", "data to")
    for name in ("no_show", "revenue_forecast"):
        for version in reversed(registry.versions(name)):
            card = registry.card(name, version)
            window = card.get("data_window", {})
            to = window.get("deployed_fit", window).get("to", "")
            table.add_row(name, version, card["created_at"], str(to))
    console.print(table)
