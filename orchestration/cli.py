"""`pms dagster ...`: the Typer app `dagster_app` (mounted by pms/cli.py as `dagster`).

`run` executes one job in this process (the way `pms demo` materializes on first start); `serve`
runs the UI and the daemon, so schedules and sensors tick, without the rest of the demo. Both use
the instance in `PMS_DATA_DIR/dagster`, so runs from either show up in the UI.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Annotated

import typer

dagster_app = typer.Typer(help="Orchestration (Dagster): run jobs, serve the UI and the daemon", no_args_is_help=True)

JOBS = ("refresh_all", "replication", "dbt_build", "ml_training", "ml_scoring")


def _use_instance() -> None:
    from orchestration.instance import prepare_home
    from pms.settings import get_settings

    os.environ.setdefault("DAGSTER_HOME", str(prepare_home(get_settings().pms_data_dir)))


@dagster_app.command("run")
def run_command(job: Annotated[str, typer.Argument(help=f"one of: {', '.join(JOBS)}")] = "refresh_all") -> None:
    """Execute a job in-process; exit 1 if a step fails."""
    import dagster as dg

    if job not in JOBS:
        raise typer.BadParameter(f"one of {', '.join(JOBS)}", param_hint="JOB")
    _use_instance()
    from orchestration.definitions import defs

    result = defs.resolve_job_def(job).execute_in_process(instance=dg.DagsterInstance.get(), raise_on_error=False)
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    for evaluation in failed:
        typer.echo(f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} "
                   f"failed ({evaluation.severity.value}) {evaluation.description or ''}")
    typer.echo(f"{job}: {'succeeded' if result.success else 'failed'} (run {result.run_id})")
    raise typer.Exit(0 if result.success else 1)


@dagster_app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="address the UI binds")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="UI port")] = 3000,
) -> None:
    """The Dagster UI and daemon (schedules, sensors, run queue) until Ctrl-C."""
    import signal

    from orchestration.processes import PortTaken, ensure_free, interrupt, on_stop_signals, spawn, stop_all
    from pms.settings import get_settings

    try:
        ensure_free(host, port, "Dagster UI")
    except PortTaken as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    _use_instance()
    import dagster as dg

    from orchestration.instance import cancel_unfinished_runs

    cancel_unfinished_runs(dg.DagsterInstance.get(), "the processes that ran it have stopped")
    code = ["-m", "orchestration.definitions"]
    logs = get_settings().pms_data_dir.resolve() / "logs"
    children = [
        spawn("dagster-webserver", [sys.executable, "-m", "dagster_webserver", *code, "-h", host, "-p", str(port)],
              os.environ, logs),
        spawn("dagster-daemon", [sys.executable, "-c", "from dagster._daemon.cli import main; main()", "run", *code],
              os.environ, logs),
    ]
    typer.echo(f"Dagster on http://{host}:{port} (logs in {logs}); Ctrl-C stops it")
    on_stop_signals(interrupt)
    try:
        while all(child.running for child in children):
            time.sleep(1.0)
        typer.echo("a Dagster process stopped; see its log")
    except KeyboardInterrupt:
        pass
    finally:
        on_stop_signals(signal.SIG_IGN)
        stop_all(children)
