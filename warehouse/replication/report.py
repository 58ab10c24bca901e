"""Rendering replication status for the terminal."""

from __future__ import annotations

from rich.table import Table

from warehouse.replication.replicator import ReplicationStatus


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def status_table(status: ReplicationStatus) -> Table:
    table = Table(title="Replication: outbox → raw.*", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    health = "unreachable" if status.warehouse_error else "caught up" if status.caught_up else "behind"
    rows = [
        ("state", health),
        ("lag (seconds)", status.lag_seconds),
        ("pending events", status.pending_events),
        ("oldest pending at", status.oldest_pending_at),
        ("position (low-water seq)", status.position),
        ("high-water seq", status.high_water),
        ("open gaps", status.open_gaps),
        ("events loaded (total)", status.events_loaded),
        ("last committed at", status.last_replicated_at),
    ]
    if status.warehouse_error:
        rows.append(("warehouse error", status.warehouse_error))
    for name, value in rows:
        table.add_row(name, _fmt(value))
    return table
