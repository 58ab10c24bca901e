"""Set-based writes for the bulk writer: SQLite executemany with an upsert, PostgreSQL COPY.

Values go through each column's own SQLAlchemy bind processor (money to cents on SQLite, UTC,
JSON, encryption at rest, enums), so the stored bytes are those the ORM would store; only the
per-row Python overhead of Core's executemany is skipped.

The simulation and the writing run in two processes, since one interpreter runs on one core. The
writer's process records each insert and change as the row's values at that moment (a tuple:
later ops go on changing the rows) and `Loader` hands every batch of them, pickled, to a child
process. The child builds the outbox payloads (payloads.py), takes each row's last values as its
table row, encodes them and writes them. Payloads, encoding and COPY formatting cost about as
much Python as the simulation itself (docs/simulator.md); the pickling costs a fraction of that.

SQLite: `INSERT ... ON CONFLICT (id) DO UPDATE` in executemany, with PRAGMA synchronous=OFF and a
large cache for the load (the database file is new or reset, so a crash means re-seeding anyway).
PostgreSQL: rows new in the batch are COPYed straight in; rows an earlier batch wrote go through
COPY into a temporary table and one INSERT ... SELECT ... ON CONFLICT per table; the outbox is
COPYed in as text, a chunk at a time as it is built (seq from its sequence, in row order).
"""

import gc
import json
import multiprocessing
import pickle
import queue
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import JSON, Connection, Table, Uuid

from ops_api.db import make_engine
from ops_api.models import Base, OutboxEvent
from ops_api.models.types import UTCDateTime

from simulator.writers.payloads import Memo, compile_payload, json_text

OUTBOX_COLUMNS = ("entity", "entity_id", "op", "payload", "occurred_at")
OUTBOX_CHUNK = 2_000  # outbox events per write (about 1 MB of COPY text)
ID = {t.name: [c.name for c in t.columns].index("id") for t in Base.metadata.sorted_tables if "id" in t.c}
MODELS = {m.class_.__tablename__: m.class_ for m in Base.registry.mappers}


@dataclass
class Batch:
    """What the writer hands the loader: every insert and change since the last batch as (table,
    the row's values in column order, when; None for a row with no outbox event), in order, and per
    table the ids of the rows among them that an earlier batch wrote. Plain values: it pickles
    cheaply."""

    events: list[tuple[str, tuple, datetime | None]] = field(default_factory=list)
    seen: dict[str, set[str]] = field(default_factory=dict)


def _latest(batch: Batch) -> list[tuple[str, list[tuple], list[tuple]]]:
    """Each row's last values in the batch, per table, parents first, rows in first-touch order:
    (table, rows new in this batch, rows an earlier batch wrote)."""
    latest: dict[str, dict[str, tuple]] = {}
    for name, values, _ in batch.events:
        latest.setdefault(name, {})[values[ID[name]]] = values
    out = []
    for table in Base.metadata.sorted_tables:
        rows = latest.get(table.name)
        if rows:
            seen = batch.seen.get(table.name, ())
            out.append((table.name, [v for i, v in rows.items() if i not in seen],
                        [v for i, v in rows.items() if i in seen]))
    return out


class Encoder:
    """Row values → DB-API values, in the table's column order: one generated function per table
    that calls each column's processor (if it has one) on non-null values."""

    def __init__(self, table: Table, dialect):
        self.table = table
        self.names = [c.name for c in table.columns]
        procs = {f"p{i}": _processor(c.type, dialect) for i, c in enumerate(table.columns)}
        items = [f"row[{i}]" if procs[f"p{i}"] is None else f"None if (v := row[{i}]) is None else p{i}(v)"
                 for i in range(len(self.names))]
        namespace = {k: p for k, p in procs.items() if p is not None}
        exec(compile(f"def encode(row):\n    return ({', '.join(items)},)\n", f"<encode {table.name}>", "exec"),  # noqa: S102
             namespace)
        self.encode: Callable[[tuple], tuple] = namespace["encode"]


def _uuid_hex(value):
    """SQLite stores a Uuid as 32 hex digits; the bulk writer's ids are canonical strings already."""
    return value.replace("-", "") if value.__class__ is str else value.hex


def _memo(process: Callable) -> Callable:
    """Many rows share one instant (the op's time) or one code list: convert each value once."""
    return Memo(process).__getitem__


@cache
def _utc(dialect) -> Callable:
    """UTCDateTime's conversion, one memo for every column: created_at, updated_at, occurred_at
    and status_changed_at hold the same instants (one memo per column held ~30× the memory)."""
    process = UTCDateTime()._cached_bind_processor(dialect)
    if dialect.name == "postgresql":  # COPY takes text; process refuses naive times, makes UTC
        return _memo(lambda v: process(v).isoformat())
    return _memo(process)


# The text psycopg's Json dumper sends (json.dumps, default separators; PostgreSQL's json type
# stores it as it is) and SQLAlchemy's JSON bind processor stores on SQLite (json.dumps too).
_json_text = json_text(json.dumps)


def _processor(coltype, dialect):
    if isinstance(coltype, Uuid):
        return _uuid_hex if dialect.name == "sqlite" else None  # PostgreSQL's COPY parses the text form
    # Timestamps and JSON are converted once per distinct value; on PostgreSQL to the text psycopg's
    # dumpers would make for COPY, without their per-value cost (3-4 µs a timestamptz or a Json).
    if isinstance(coltype, UTCDateTime):
        return _utc(dialect)
    if isinstance(coltype, JSON):
        return _json_text
    return coltype._cached_bind_processor(dialect)


class Sink:
    def __init__(self, dialect):
        self.dialect = dialect
        self.encoders: dict[str, Encoder] = {}
        self.payloads: dict[str, Callable[[tuple], str]] = {}

    def events(self, batch: Batch) -> Iterator[list[tuple]]:
        """The batch's outbox events, (entity, entity_id, payload, occurred_at), in chunks: the
        database takes in one chunk while the next is built."""
        out = []
        for name, values, at in batch.events:
            if at is not None:
                payload = self.payloads.get(name)
                if payload is None:
                    payload = self.payloads[name] = compile_payload(MODELS[name])
                out.append((name, values[ID[name]], payload(values), at))
                if len(out) == OUTBOX_CHUNK:
                    yield out
                    out = []
        if out:
            yield out

    @staticmethod
    def for_dialect(dialect) -> "Sink":
        return PostgresSink(dialect) if dialect.name == "postgresql" else SqliteSink(dialect)

    def encoder(self, name: str) -> Encoder:
        if name not in self.encoders:
            self.encoders[name] = Encoder(Base.metadata.tables[name], self.dialect)
        return self.encoders[name]

    def encode(self, name: str, rows: list[tuple]) -> list[tuple]:
        encode = self.encoder(name).encode
        return [encode(r) for r in rows]

    def write(self, conn: Connection, batch: Batch) -> None:
        """Encode and write one batch in the caller's transaction."""
        raise NotImplementedError


class SqliteSink(Sink):
    def __init__(self, dialect):
        super().__init__(dialect)
        self.occurred_at = _processor(OutboxEvent.__table__.c.occurred_at.type, dialect)  # the others are text
        self.sql: dict[str, str] = {}

    def encode_outbox(self, events: list[tuple]) -> list[tuple]:
        occurred_at = self.occurred_at
        return [(e, i, "upsert", p, occurred_at(t)) for e, i, p, t in events]

    def upsert_sql(self, name: str) -> str:
        if name not in self.sql:
            names = self.encoder(name).names
            sets = ", ".join(f"{n} = excluded.{n}" for n in names if n != "id")
            self.sql[name] = (f"INSERT INTO {name} ({', '.join(names)}) "
                              f"VALUES ({', '.join('?' * len(names))}) ON CONFLICT (id) DO UPDATE SET {sets}")
        return self.sql[name]

    def write(self, conn: Connection, batch: Batch) -> None:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        # Foreign keys are not re-checked row by row: the stream is valid by construction, and the
        # service path, which checks them, writes identical rows (tests/simulator/test_paths.py).
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB
        raw = conn.connection.driver_connection
        for name, new, seen in _latest(batch):
            raw.executemany(self.upsert_sql(name), self.encode(name, new + seen))
        for events in self.events(batch):
            raw.executemany(f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
                            self.encode_outbox(events))


def _copy_text(value: str) -> str:
    """COPY's text format escapes backslashes; JSON and the other outbox fields hold no raw tab or
    newline (json escapes control characters), so nothing else needs escaping."""
    return value.replace("\\", "\\\\") if "\\" in value else value


class PostgresSink(Sink):
    def __init__(self, dialect):
        super().__init__(dialect)
        self.iso = _utc(dialect)

    def encode_outbox(self, events: list[tuple]) -> str:
        iso = self.iso
        return "".join(f"{e}\t{i}\tupsert\t{_copy_text(p)}\t{iso(t)}\n" for e, i, p, t in events)

    def write(self, conn: Connection, batch: Batch) -> None:
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")  # a lost tail means re-seeding anyway
        with conn.connection.driver_connection.cursor() as cur:
            for name, new, seen in _latest(batch):
                encoder = self.encoder(name)
                encode, names = encoder.encode, ", ".join(encoder.names)
                if new:
                    with cur.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
                        for row in new:
                            copy.write_row(encode(row))
                if seen:
                    tmp = f"sim_load_{name}"
                    sets = ", ".join(f"{n} = excluded.{n}" for n in encoder.names if n != "id")
                    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {name}) ON COMMIT DELETE ROWS")
                    with cur.copy(f"COPY {tmp} ({names}) FROM STDIN") as copy:
                        for row in seen:
                            copy.write_row(encode(row))
                    cur.execute(f"INSERT INTO {name} ({names}) SELECT {names} FROM {tmp} "
                                f"ON CONFLICT (id) DO UPDATE SET {sets}")
            with cur.copy(f"COPY outbox ({', '.join(OUTBOX_COLUMNS)}) FROM STDIN") as copy:
                for events in self.events(batch):
                    copy.write(self.encode_outbox(events))


class LoadFailed(RuntimeError):
    """The loader process stopped without a picklable error (killed, or an exotic exception)."""


def _portable(exc: Exception) -> Exception:
    """The error itself if it survives pickling (sqlite3's and psycopg's do), else its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        return LoadFailed(f"{type(exc).__name__}: {exc}")


def _serve(url: str, batches, errors) -> None:
    """The loader process: write each batch in its own transaction until None. After a failure it
    reports the error, writes nothing more (later batches are drained, not written) and exits 1."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the writer, which then closes us
    gc.disable()  # as in the writer: batches are plain acyclic values, freed by reference counting
    engine = make_engine(url)
    sink = Sink.for_dialect(engine.dialect)
    failed = False
    while (data := batches.get()) is not None:
        if not failed:
            try:
                with engine.begin() as conn:
                    sink.write(conn, pickle.loads(data))
            except Exception as exc:  # handed to the writer's process
                failed = True
                errors.put(_portable(exc))
    engine.dispose()
    errors.close()
    errors.join_thread()  # the error is in the pipe before the exit code says there is one
    sys.exit(1 if failed else 0)


class Loader:
    """Writes batches in a child process, in order, one transaction each. At most two batches wait
    in the pipe, so memory stays at a few batches. A failed write is raised in the writer at its
    next `put` or at `close`, and nothing after it is written.

    The child is forked: it starts at once with the writer's modules and settings (encryption keys
    included), and needs no importable `__main__` as spawned children do. It opens its own engine
    and touches none of the writer's connections, threads or locks, and it ends with os._exit, so
    none of the writer's objects are finalised twice."""

    def __init__(self, url: str):
        context = multiprocessing.get_context("fork")
        self.batches = context.Queue(maxsize=2)
        self.errors = context.Queue()
        self.error: BaseException | None = None
        self.process = context.Process(target=_serve, args=(url, self.batches, self.errors), name="bulk-loader",
                                       daemon=True)
        self.process.start()

    def _raise(self) -> None:
        """The child's error, if it reported one (LoadFailed if it died without one); once known,
        raised again at every later call."""
        if self.error is None:
            try:
                self.error = self.errors.get(timeout=5) if self.process.exitcode else self.errors.get_nowait()
            except queue.Empty:
                if self.process.exitcode:
                    self.error = LoadFailed(f"the loader process exited with code {self.process.exitcode}")
        if self.error is not None:
            raise self.error

    def _send(self, item: bytes | None) -> None:
        while self.process.is_alive():
            try:
                self.batches.put(item, timeout=1)
                return
            except queue.Full:
                continue

    def put(self, batch: Batch) -> None:
        """Pickled here, not on the queue's feeder thread: the writer goes on changing the lists
        and dicts the batch's values may share."""
        self._raise()
        self._send(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))

    def close(self) -> None:
        self._send(None)
        self.process.join()
        self.batches.close()
        self._raise()
