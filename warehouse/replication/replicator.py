"""The replication loop: outbox → raw.*, resumable, retrying, and reporting its lag."""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from warehouse.raw_schema import RAW_DATABASE, RawTable, migrate, raw_tables
from warehouse.replication.extract import Outbox
from warehouse.replication.load import RawLoader
from warehouse.replication.state import ReplicationState, advance, load_state, save_state

log = logging.getLogger("warehouse.replication")

DEFAULT_BATCH = 50_000
PRUNE_CHUNK = 10_000  # outbox seqs deleted per transaction
PRUNE_CHUNKS_PER_STEP = 5  # transactions of pruning between two replication steps of a follower
_CODE = re.compile(r"Code: (\d+)")


def retryable_errors() -> tuple[type[BaseException], ...]:
    from clickhouse_connect.driver.exceptions import Error as ClickHouseClientError

    return (ClickHouseClientError, DBAPIError, OSError)


def describe_error(exc: BaseException) -> str:
    """The error's class and ClickHouse code only: server messages may quote row data (PHI)."""
    code = _CODE.search(str(exc))
    return type(exc).__name__ + (f" (code {code.group(1)})" if code else "")


@dataclass(frozen=True)
class StepResult:
    loaded: int  # events written this step
    caught_up: bool  # the read returned less than a full batch


class Replicator:
    """One replicator per raw database. Not thread-safe; run one process per warehouse."""

    def __init__(self, engine: Engine, client, database: str = RAW_DATABASE, batch_size: int = DEFAULT_BATCH,
                 gap_timeout: float = 300.0, tables: dict[str, RawTable] | None = None,
                 prune_chunk: int = PRUNE_CHUNK, prune_chunks_per_step: int = PRUNE_CHUNKS_PER_STEP):
        self.outbox = Outbox(engine)
        self.prune_chunk, self.prune_chunks_per_step = prune_chunk, prune_chunks_per_step
        self.client = client
        self.database = database
        self.batch_size = batch_size
        self.gap_timeout = gap_timeout
        self.tables = raw_tables() if tables is None else tables
        self.loader = RawLoader(client, database, self.tables)
        self.state: ReplicationState | None = None

    def prepare(self) -> ReplicationState:
        """Migrate the raw schema and load the committed position (again, after any failure)."""
        migrate(self.client, self.database, self.tables)
        state = load_state(self.client, self.database)
        source = self.outbox.describe()
        if state.source and state.source != source:
            log.warning("raw.%s was last fed from another store; continuing from its position", self.database)
        self.state = replace(state, source=source)
        return self.state

    def step(self) -> StepResult:
        """Read one batch above high water plus anything that committed inside open gaps; load; commit."""
        state = self.state if self.state is not None else self.prepare()
        before = self.outbox.horizon()  # before the reads: decides which gaps are dead (state.py)
        new = self.outbox.read_after(state.high_water, self.batch_size)
        late = self.outbox.read_gaps(state.gaps) if state.gaps else []
        after = self.outbox.horizon(stamp=True) if new else before  # no new gap without new events
        self.loader.load(late + new)
        nxt = advance(state, [e[0] for e in new], [e[0] for e in late], before, after, datetime.now(UTC),
                      self.gap_timeout)
        if (nxt.position, nxt.high_water, nxt.gaps) != (state.position, state.high_water, state.gaps):
            save_state(self.client, self.database, nxt)  # only now is the batch committed
            self.state = nxt
        if late:
            log.info("loaded %d events that committed out of seq order", len(late))
        return StepResult(len(new) + len(late), caught_up=len(new) < self.batch_size)

    def prune(self, max_chunks: int | None = None) -> int:
        """Delete outbox rows at or below the committed low-water mark (never above it); with
        `max_chunks`, only that many short transactions' worth. Returns the rows deleted."""
        if self.state is None or self.state.position == 0:
            return 0
        deleted = self.outbox.prune(self.state.position, chunk=self.prune_chunk, max_chunks=max_chunks)
        if deleted:
            log.info("pruned %d outbox events up to seq %d", deleted, self.state.position)
        return deleted

    def run(self, follow: bool = False, prune: bool = False, poll_interval: float = 1.0,
            max_retries: int = 6, backoff_max: float = 30.0, stop: threading.Event | None = None,
            on_step: Callable[[StepResult], None] | None = None) -> int:
        """Catch up (and with `follow`, keep following) with exponential backoff on failures.

        Any failure drops the in-memory state; the next attempt resumes from the position saved
        in ClickHouse, so a half-written batch is simply written again. Without `follow`, gives up
        after `max_retries` consecutive failures.
        """
        stop = stop or threading.Event()
        failures, total, pruned_to, started = 0, 0, 0, time.monotonic()
        settle = 3  # one-shot: a few more probes, so gaps whose transactions have just ended close
        while not stop.is_set():
            try:
                result = self.step()
                total += result.loaded
                if on_step:
                    on_step(result)
                pruning = prune and self.state.position > pruned_to
                if pruning:
                    self.prune(max_chunks=self.prune_chunks_per_step)
                    if self.outbox.pruned(self.state.position):
                        pruned_to, pruning = self.state.position, False
                if failures:
                    log.info("replication recovered after %d failed attempts", failures)
                failures = 0
                if result.caught_up:
                    if not follow:
                        if not self.state.gaps or settle == 0:
                            if pruning:
                                self.prune()  # one-shot: the rest of the backlog at once
                            break
                        settle -= 1
                    if not pruning:  # a prune backlog goes on at once, a step at a time
                        stop.wait(poll_interval if follow else 0.1)
            except retryable_errors() as exc:
                self.state = None
                failures += 1
                if not follow and failures > max_retries:
                    raise
                delay = min(backoff_max, 0.25 * 2 ** (failures - 1)) * random.uniform(0.8, 1.2)
                log.warning("replication attempt failed: %s; retry %d in %.1fs", describe_error(exc), failures, delay)
                stop.wait(delay)
        elapsed, position = time.monotonic() - started, self.state.position if self.state else -1
        if follow:
            log.info("stopped after replicating %d events; position %d", total, position)
        elif total:
            log.info("replicated %d events in %.1fs (%.0f events/s); position %d", total, elapsed,
                     total / max(elapsed, 1e-9), position)
        return total


@dataclass(frozen=True)
class ReplicationStatus:
    """Replication lag, for `pms replicate --status` and Dagster sensors/asset checks."""

    position: int | None  # low-water mark: every seq at or below it is in raw.* (or never committed)
    high_water: int | None  # highest seq loaded
    open_gaps: int  # seq ranges below high water still waiting on in-flight transactions
    pending_events: int | None  # outbox events not yet in raw.*
    lag_seconds: float | None  # now - occurred_at of the oldest pending event; 0 when caught up
    oldest_pending_at: datetime | None
    last_replicated_at: datetime | None  # when a batch was last committed
    events_loaded: int | None  # cumulative, re-deliveries included
    warehouse_error: str | None = None

    @property
    def caught_up(self) -> bool:
        return self.pending_events == 0


def replication_status(engine: Engine | None = None, client=None, database: str = RAW_DATABASE) -> ReplicationStatus:
    """Lag of raw.* behind the outbox. Never raises for an unreachable warehouse: it reports it."""
    if engine is None:
        from ops_api.db import get_engine

        engine = get_engine()
    try:
        if client is None:
            from warehouse.client import get_client

            client = get_client()
        state = load_state(client, database) if _has_state(client, database) else ReplicationState()
    except retryable_errors() as exc:
        return ReplicationStatus(None, None, 0, None, None, None, None, None, describe_error(exc))
    pending, oldest = Outbox(engine).pending(state.high_water, state.gaps)
    lag = max(0.0, (datetime.now(UTC) - oldest).total_seconds()) if oldest else 0.0
    return ReplicationStatus(state.position, state.high_water, len(state.gaps), pending, lag, oldest,
                             state.updated_at, state.events_loaded)


def _has_state(client, database: str) -> bool:
    from warehouse.raw_schema import STATE_TABLE

    return bool(client.command(f"EXISTS TABLE `{database}`.`{STATE_TABLE}`"))
