"""`pms demo`: the whole platform on this machine, with a practice to look at.

First start: the embedded warehouse (unless CLICKHOUSE_URL names one), migrations, the demo
practice, one full Dagster materialization in-process (replicate → dbt build → train → score, with
every check), then the API, the Dagster UI and daemon, the dashboards and the replicator following
the outbox, each a child in its own process group. A second start reuses all of it: it skips the
seed and the materialization (Dagster's sensors refresh what the follower brings). Ctrl-C or SIGTERM
stops the children (SIGTERM, then SIGKILL after a timeout) and then the warehouse, which flushes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import func, select

from pms.settings import get_settings

console = Console(file=sys.stdout)  # bound now: materialization output is redirected to a log file
DEMO_ADMIN = ("admin", "spark-den-demo-1")
STOP_TIMEOUT = 15.0
READY_TIMEOUT = 300.0
REFRESH_JOB = "refresh_all"
SERVED = (["marts", "fct_kpi_daily"], ["ml", "no_show_scores"])  # built once, a warm start skips the refresh
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}  # the run's log is in the Dagster UI


@dataclass(frozen=True)
class DemoOptions:
    host: str = "127.0.0.1"
    api_port: int = 8000
    dagster_port: int = 3000
    dashboards_port: int = 8501
    warehouse_port: int | None = None  # default WAREHOUSE_PORT (8123)
    scale: str = "demo"
    live: bool = False
    rate: float = 5.0
    refresh: bool = False


class DemoError(RuntimeError):
    pass


# -- the operational store ----------------------------------------------------------------------------

def ensure_admin(username: str = DEMO_ADMIN[0], password: str = DEMO_ADMIN[1], engine=None) -> None:
    """An admin account with this name, unless one exists (default: the demo admin, in DATABASE_URL)."""
    from ops_api.db import get_engine, session_factory
    from ops_api.models import User
    from ops_api.schemas.users import UserCreate
    from ops_api.services.users import create_user

    with session_factory(engine or get_engine())() as session:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session, UserCreate(username=username, password=password, role="admin"))
            session.commit()


def seed_if_empty(scale: str) -> bool:
    """Seed the demo practice unless the store already holds one; True when it seeded."""
    from ops_api.db import get_engine
    from ops_api.models import Facility
    from simulator.run import seed

    engine = get_engine()
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(Facility)).scalar_one():
            return False
    with console.status(f"seeding the {scale} practice (first start only)"):
        result = seed(engine.url.render_as_string(hide_password=False), scale, 42, date.today(), "bulk")
    console.print(f"seeded {result.counts['patients']:,} patients, {result.counts['appointments']:,} appointments, "
                  f"{result.counts['claims']:,} claims")
    return True


# -- the warehouse ------------------------------------------------------------------------------------

def start_warehouse(options: DemoOptions):
    """(url, handle): CLICKHOUSE_URL when set; else the embedded server, reused if one already serves the data."""
    from warehouse.embedded.process import start_server, status

    settings = get_settings()
    if "clickhouse_url" in settings.model_fields_set:
        return settings.clickhouse_url, None
    current = status(settings.warehouse_data_dir)
    if current.running:
        console.print(f"reusing the warehouse already serving {current.data_dir} (pid {current.info.pid})")
        return f"{current.info.url}/default", None
    if current.process_alive:
        raise DemoError(f"pid {current.info.pid} holds {current.data_dir} but does not answer; `pms warehouse stop`")
    from orchestration.processes import ensure_free

    port = options.warehouse_port or settings.warehouse_port
    ensure_free(settings.warehouse_host, port, "warehouse")
    with console.status("starting the embedded warehouse"):
        handle = start_server(settings.warehouse_data_dir, host=settings.warehouse_host, port=port, detach=True)
    return f"{handle.url}/default", handle


def check_warehouse(url: str) -> None:
    from warehouse.client import get_client

    try:
        client = get_client(url=url, connect_timeout=10)
        try:
            answering = client.ping()
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - whatever the reason, the demo cannot go on without it
        answering = False
    if not answering:
        raise DemoError(f"the warehouse at {url.split('@')[-1]} does not answer")


# -- Dagster ------------------------------------------------------------------------------------------

def cancel_unfinished_runs(message: str) -> None:
    import dagster as dg

    from orchestration.instance import cancel_unfinished_runs as cancel

    cancel(dg.DagsterInstance.get(), message)


def materialize_everything(force: bool, log_dir: Path) -> None:
    """The refresh_all job in-process, unless what the dashboards read was built by an earlier start."""
    import dagster as dg

    instance = dg.DagsterInstance.get()
    built = all(instance.get_latest_materialization_event(dg.AssetKey(key)) for key in SERVED)
    if built and not force:
        console.print("reusing the marts and models of an earlier start (`--refresh` rebuilds them)")
        return
    with console.status("loading the Dagster definitions (parses the dbt project on first use)"):
        from orchestration.definitions import defs
    started = time.monotonic()
    log_dir.mkdir(parents=True, exist_ok=True)
    with (console.status("materializing: replicate → dbt build → train → score (detail in the Dagster UI)"),
          open(log_dir / "materialize.log", "a") as log, contextlib.redirect_stdout(log),
          contextlib.redirect_stderr(log)):
        result = defs.resolve_job_def(REFRESH_JOB).execute_in_process(
            instance=instance, raise_on_error=False, run_config=QUIET_LOGS)
    failed_checks = [f"{e.asset_key.to_user_string()}:{e.check_name}" for e in result.get_asset_check_evaluations()
                     if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    failed_steps = [e.step_key for e in result.all_events if e.is_step_failure]
    console.print(f"materialized in {time.monotonic() - started:,.0f}s"
                  + ("" if result.success else f" with failures (detail in the Dagster UI, run {result.run_id[:8]})"))
    for name in failed_steps:
        console.print(f"[red]failed step[/red] {name}")
    for name in failed_checks:
        console.print(f"[yellow]failed check[/yellow] {name}")


# -- the servers --------------------------------------------------------------------------------------

def child_env(data_dir: Path, warehouse_url: str, options: DemoOptions) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update({
        "PMS_DATA_DIR": str(data_dir),
        "CLICKHOUSE_URL": warehouse_url,
        "DAGSTER_HOME": str(data_dir / "dagster"),
        "PMS_API_URL": f"http://{options.host}:{options.api_port}",
        "PATH": os.pathsep.join([bin_dir, env.get("PATH", "")]),
        "PYTHONUNBUFFERED": "1",
    })
    if options.live:
        env.setdefault("DASHBOARDS_CACHE_TTL_SECONDS", "60")  # let the pages follow the live practice
    return env


def server_commands(options: DemoOptions) -> list[tuple[str, list[str], str | None]]:
    """(name, argv, readiness URL) of each long-running child, in start order."""
    from dashboards.cli import streamlit_command_line

    py, host = sys.executable, options.host
    code = ["-m", "orchestration.definitions"]
    return [
        ("api", [py, "-m", "uvicorn", "ops_api.main:app", "--host", host, "--port", str(options.api_port),
                 "--log-level", "warning"], f"http://{host}:{options.api_port}/docs"),
        ("replicator", [py, "-m", "warehouse.replication", "--follow"], None),
        ("dagster-webserver", [py, "-m", "dagster_webserver", *code, "-h", host, "-p", str(options.dagster_port)],
         f"http://{host}:{options.dagster_port}/server_info"),
        ("dagster-daemon", [py, "-c", "from dagster._daemon.cli import main; main()", "run", *code], None),
        ("dashboards", streamlit_command_line(options.dashboards_port, host),
         f"http://{host}:{options.dashboards_port}/_stcore/health"),
    ]


def live_command(options: DemoOptions) -> list[str]:
    runner = "import typer; from simulator.cli import seed_command; typer.run(seed_command)"
    return [sys.executable, "-c", runner, "--live", "--rate", str(options.rate),
            "--api-url", f"http://{options.host}:{options.api_port}"]


def wait_ready(children, timeout: float = READY_TIMEOUT) -> None:
    from orchestration.processes import answers

    deadline = time.monotonic() + timeout
    pending = [c for c in children if c.url]
    while pending:
        for child in list(pending):
            if not child.running:
                raise DemoError(f"{child.name} exited with code {child.process.returncode}:\n{child.log_tail()}")
            if answers(child.url):
                pending.remove(child)
        if pending and time.monotonic() > deadline:
            raise DemoError(f"not answering after {timeout:.0f}s: {', '.join(c.name for c in pending)}")
        time.sleep(0.5)


def supervise(children) -> None:
    """Until Ctrl-C/SIGTERM (KeyboardInterrupt); a server that dies ends the demo, the live simulator may."""
    while True:
        for child in children:
            if not child.running and child.name != "live-simulator":
                raise DemoError(f"{child.name} stopped (code {child.process.returncode}); "
                                f"its log {child.log_path}:\n{child.log_tail()}")
        time.sleep(1.0)


def print_banner(options: DemoOptions, warehouse_url: str, data_dir: Path, seconds: float) -> None:
    host = options.host
    console.rule("Spark Den PMS demo")
    console.print(f"API          http://{host}:{options.api_port}/docs")
    console.print(f"Dagster      http://{host}:{options.dagster_port}")
    console.print(f"Dashboards   http://{host}:{options.dashboards_port}")
    console.print(f"Warehouse    {warehouse_url.split('@')[-1]}")
    console.print(f"dbt docs     PMS_DATA_DIR={data_dir} .venv/bin/pms dbt docs --port 8081  (another terminal)")
    console.print(f"login        {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}")
    console.print(f"data         {data_dir}  (logs in {data_dir / 'logs'})")
    if options.live:
        console.print(f"live         the simulator books and bills at {options.rate:g} requests/s")
    console.print(f"ready in {seconds:,.0f}s; Ctrl-C stops everything.")


# -- the whole ----------------------------------------------------------------------------------------

def run_demo(options: DemoOptions | None = None) -> int:
    """Bring everything up, serve until interrupted, stop it all; returns an exit code."""
    from orchestration.processes import PortTaken, ensure_free, interrupt, on_stop_signals, spawn, stop_all

    options = options or DemoOptions()
    started = time.monotonic()
    on_stop_signals(interrupt)  # SIGTERM cleans up exactly as Ctrl-C does
    data_dir = get_settings().pms_data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    children, handle, code = [], None, 0
    try:
        for what, port in (("API", options.api_port), ("Dagster UI", options.dagster_port),
                           ("dashboards", options.dashboards_port)):
            ensure_free(options.host, port, what)
        warehouse_url, handle = start_warehouse(options)
        from orchestration.instance import prepare_home

        os.environ.update(PMS_DATA_DIR=str(data_dir), CLICKHOUSE_URL=warehouse_url,
                          DAGSTER_HOME=str(prepare_home(data_dir)))
        _reload_settings()
        check_warehouse(warehouse_url)

        from ops_api import migrations

        migrations.upgrade()
        ensure_admin()
        seeded = seed_if_empty(options.scale)
        cancel_unfinished_runs("the demo that started this run has stopped")
        logs = data_dir / "logs"
        materialize_everything(force=seeded or options.refresh, log_dir=logs)

        env = child_env(data_dir, warehouse_url, options)
        with console.status("starting the API, the replicator, Dagster and the dashboards"):
            for name, argv, url in server_commands(options):
                children.append(spawn(name, argv, env, logs, url))
            wait_ready(children)
            if options.live:
                children.append(spawn("live-simulator", live_command(options), env, logs))
        print_banner(options, warehouse_url, data_dir, time.monotonic() - started)
        on_stop_signals(interrupt)  # again: Dagster's in-process run swaps them
        supervise(children)
    except KeyboardInterrupt:
        console.print("\nstopping…")
    except (DemoError, PortTaken) as exc:
        console.print(f"[red]error:[/red] {exc}")
        code = 1
    finally:
        on_stop_signals(signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        killed = stop_all(list(reversed(children)), timeout=STOP_TIMEOUT)
        if children:
            cancel_unfinished_runs("stopped with the demo")
        if handle is not None:
            handle.stop()
        if killed:
            console.print(f"killed after {STOP_TIMEOUT:g}s: {', '.join(killed)}")
        console.print("stopped" + (f" (logs in {data_dir / 'logs'})" if code else ""))
    return code


def _reload_settings() -> None:
    """The environment just changed (data dir, warehouse URL): drop cached settings and engines."""
    from ops_api.db import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()


def demo_command(
    live: Annotated[bool, typer.Option("--live", help="Keep the simulator's live mode going so the dashboards move.")] = False,
    rate: Annotated[float, typer.Option(help="Live mode: API requests per second.")] = 5.0,
    scale: Annotated[str, typer.Option(envvar="PMS_DEMO_SCALE", help="Practice size on first start: tiny or demo.")] = "demo",
    refresh: Annotated[bool, typer.Option("--refresh", help="Materialize everything again on a warm start.")] = False,
    host: Annotated[str, typer.Option(help="Address the servers bind.")] = "127.0.0.1",
    api_port: Annotated[int, typer.Option(envvar="PMS_DEMO_API_PORT", help="Operational API port.")] = 8000,
    dagster_port: Annotated[int, typer.Option(envvar="PMS_DEMO_DAGSTER_PORT", help="Dagster UI port.")] = 3000,
    dashboards_port: Annotated[int, typer.Option(envvar="PMS_DEMO_DASHBOARDS_PORT", help="Dashboards port.")] = 8501,
    warehouse_port: Annotated[int | None, typer.Option(help="Embedded warehouse port (default: WAREHOUSE_PORT, 8123).")] = None,
) -> None:
    """Start the platform with a seeded practice: API, Dagster, dashboards (see README). Ctrl-C stops it."""
    from simulator.scales import SCALES

    if scale not in SCALES:
        raise typer.BadParameter(f"one of {', '.join(SCALES)}", param_hint="--scale")
    options = DemoOptions(host=host, api_port=api_port, dagster_port=dagster_port, dashboards_port=dashboards_port,
                          warehouse_port=warehouse_port, scale=scale, live=live, rate=rate, refresh=refresh)
    raise typer.Exit(run_demo(options))


if __name__ == "__main__":
    typer.run(demo_command)
