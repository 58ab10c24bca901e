"""`pms warehouse ...` and `pms replicate` (filled in by the warehouse work)."""

from pathlib import Path
from typing import Annotated

import typer

warehouse_app = typer.Typer(help="The embedded ClickHouse warehouse", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="default: PMS_DATA_DIR/warehouse")]


def _data_dir(data_dir: Path | None) -> Path:
    from pms.settings import get_settings

    return data_dir or get_settings().warehouse_data_dir


@warehouse_app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option(help="default: WAREHOUSE_HOST (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="default: WAREHOUSE_PORT (8123); 0 picks a free port")] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve ClickHouse's HTTP interface from the embedded chDB warehouse (foreground; Ctrl-C stops it)."""
    import logging

    from pms.settings import get_settings
    from warehouse.embedded.process import AlreadyRunning
    from warehouse.embedded.server import BindRefused, DataDirUnavailable, serve

    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        serve(
            host=host or settings.warehouse_host,
            port=settings.warehouse_port if port is None else port,
            data_dir=_data_dir(data_dir),
            user=settings.warehouse_user,
            password=settings.warehouse_password.get_secret_value(),
        )
    except (BindRefused, DataDirUnavailable, AlreadyRunning, OSError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None


@warehouse_app.command("status")
def status_command(data_dir: DataDir = None) -> None:
    """Show whether the embedded warehouse runs: pid, address, data directory, chDB version. Exit 1 if not."""
    import time

    from warehouse.embedded.process import status

    current = status(_data_dir(data_dir))
    info = current.info
    typer.echo(f"data dir: {current.data_dir}")
    if info is None or not current.process_alive:
        typer.echo("status:   stopped")
        raise typer.Exit(code=1)
    state = "running" if current.answering else "not answering"
    typer.echo(f"status:   {state}")
    typer.echo(f"pid:      {info.pid}")
    typer.echo(f"port:     {info.port}")
    typer.echo(f"url:      {info.url}")
    typer.echo(f"version:  ClickHouse {info.version} (chDB)")
    typer.echo(f"uptime:   {int(time.time() - info.started_at)}s")
    if not current.answering:
        raise typer.Exit(code=1)


@warehouse_app.command("stop")
def stop_command(
    data_dir: DataDir = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait before killing it")] = 30.0,
) -> None:
    """Stop the embedded warehouse cleanly (in-flight queries finish, data is flushed)."""
    from warehouse.embedded.process import stop

    stopped = stop(_data_dir(data_dir), timeout=timeout)
    typer.echo(f"stopped pid {stopped.pid}" if stopped else "not running")


def replicate_command(
    follow: Annotated[bool, typer.Option("--follow", help="Keep following new events until Ctrl-C/SIGTERM.")] = False,
    status: Annotated[bool, typer.Option("--status", help="Show replication lag and exit.")] = False,
    prune: Annotated[bool | None, typer.Option(
        "--prune/--no-prune", help="Delete replicated outbox rows.  [default: on with --follow]")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Outbox events per read (and per insert round).")] = 50_000,
    poll_interval: Annotated[float, typer.Option(min=0.01, help="Seconds between polls once caught up.")] = 1.0,
    raw_database: Annotated[str, typer.Option(help="ClickHouse database holding the raw tables.")] = "raw",
) -> None:
    """Replicate the operational outbox into ClickHouse raw.* tables (see warehouse/replication)."""
    from warehouse.replication import command

    if status:
        raise typer.Exit(code=command.show_status(raw_database))
    raise typer.Exit(code=command.replicate(follow, prune, batch_size, poll_interval, raw_database))
