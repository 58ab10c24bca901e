"""Scratch measurement (not a test): backlog throughput of the replicator, SQLite → embedded warehouse.

    .venv/bin/python -m tests.warehouse.bench_replication [EVENTS] [--batch-size N]

Writes EVENTS outbox events with `Churn` (all replicated tables; inserts, updates, deletes) into a
fresh SQLite store (cached in $TMPDIR by event count, since writing is far slower than
replicating), starts an embedded server on a fresh data dir and times one `Replicator.run()`
from position 0 (the raw schema is created before the clock starts).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from ops_api.db import make_engine
from ops_api.models import Base
from tests.warehouse.replication_support import Churn, outbox_count
from warehouse.client import get_client
from warehouse.embedded.process import start_server
from warehouse.raw_schema import migrate
from warehouse.replication import Replicator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("events", type=int, nargs="?", default=200_000)
    parser.add_argument("--batch-size", type=int, default=50_000)
    args = parser.parse_args()

    cache = Path(tempfile.gettempdir()) / f"pms-bench-outbox-{args.events}.db"
    if not cache.exists():
        partial = cache.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        url = f"sqlite:///{partial}"
        Base.metadata.create_all(make_engine(url))  # the models as they are now, migrations or not
        started = time.perf_counter()
        written = Churn(seed=7).run(make_engine(url), args.events, per_commit=2000)
        print(f"wrote {written:,} events in {time.perf_counter() - started:.0f}s")
        partial.replace(cache)
    engine = make_engine(f"sqlite:///{cache}")
    events = outbox_count(engine)

    work = Path(tempfile.mkdtemp(prefix="pms-bench-"))
    try:
        with start_server(work / "warehouse") as server:
            client = get_client(url=server.url)
            migrate(client)
            replicator = Replicator(engine, client, batch_size=args.batch_size)
            cpu0, server0, started = time.process_time(), _cpu_seconds(server.process.pid), time.perf_counter()
            loaded = replicator.run()
            elapsed = time.perf_counter() - started
            cpu, server_cpu = time.process_time() - cpu0, _cpu_seconds(server.process.pid) - server0
            rows = client.command("SELECT sum(rows) FROM system.parts WHERE database = 'raw' AND active")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert loaded == events, (loaded, events)
    print(f"{loaded:,} events in {elapsed:.2f}s = {loaded / elapsed:,.0f} events/s wall "
          f"(batch {args.batch_size:,}; {rows:,} raw rows after in-block merges); CPU: replicator {cpu:.2f}s, "
          f"server {server_cpu:.2f}s; load average {os.getloadavg()[0]:.1f}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux), to see past a busy machine's wall-clock noise."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
