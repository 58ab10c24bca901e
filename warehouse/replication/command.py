"""What `pms replicate` does: wiring settings, signals, logging and progress around the Replicator."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from warehouse.replication.replicator import (Replicator, StepResult, describe_error, replication_status,
                                              retryable_errors)

console = Console()
log = logging.getLogger("warehouse.replication")


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("urllib3", "clickhouse_connect"):  # each failed attempt is reported once, by us
        logging.getLogger(noisy).setLevel(logging.ERROR)


def show_status(database: str) -> int:
    from warehouse.replication.report import status_table

    status = replication_status(database=database)
    console.print(status_table(status))
    return 2 if status.warehouse_error else 0


def _connect(get_client, follow: bool, stop: threading.Event):
    """A client; a follower waits for the warehouse (with backoff) instead of failing at start."""
    delay = 0.25
    while not stop.is_set():
        try:
            return get_client()
        except retryable_errors() as exc:
            if not follow:
                console.print(f"[red]warehouse unreachable: {describe_error(exc)}[/red]")
                return None
            log.warning("warehouse unreachable: %s; retry in %.1fs", describe_error(exc), delay)
            stop.wait(delay)
            delay = min(30.0, delay * 2)
    return None


def replicate(follow: bool, prune: bool | None, batch_size: int, poll_interval: float, database: str) -> int:
    """Run the replicator until caught up (or, with `follow`, until SIGINT/SIGTERM); returns an exit code."""
    from ops_api.db import get_engine
    from warehouse.client import get_client

    _configure_logging()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    client = _connect(get_client, follow, stop)
    if client is None:
        return 2 if not stop.is_set() else 0
    replicator = Replicator(get_engine(), client, database=database, batch_size=batch_size)
    prune = follow if prune is None else prune
    if follow:
        replicator.run(follow=True, prune=prune, poll_interval=poll_interval, stop=stop)
        return 0
    pending = replication_status(replicator.outbox.engine, replicator.client, database).pending_events
    columns = (TextColumn("replicating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not pending) as progress:
        task = progress.add_task("events", total=pending or None)

        def advance(result: StepResult) -> None:
            progress.advance(task, result.loaded)

        try:
            total = replicator.run(follow=False, prune=prune, stop=stop, on_step=advance)
        except retryable_errors() as exc:
            console.print(f"[red]replication failed after retries: {describe_error(exc)}[/red]")
            return 2
    state = replicator.state
    console.print(f"replicated {total:,} events; position {state.position if state else '-'}")
    return 0
