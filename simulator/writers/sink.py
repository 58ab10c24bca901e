"""Set-based writes for the bulk writer: SQLite executemany with an upsert, PostgreSQL COPY.

Values go through each column's own SQLAlchemy bind processor (money to cents on SQLite, UTC,
JSON, encryption at rest, enums), so the stored bytes are those the ORM would store; only the
per-row Python overhead of Core's executemany is skipped.

Encoding and writing are split: the simulation's thread encodes a batch (a snapshot of rows that
later ops go on changing), and `Loader` writes it on a second thread, so the database's own work
(COPY parsing, index upkeep, the upserts) runs beside the simulation instead of after it.

SQLite: `INSERT ... ON CONFLICT (id) DO UPDATE` in executemany, with PRAGMA synchronous=OFF and a
large cache for the load (the database file is new or reset, so a crash means re-seeding anyway).
PostgreSQL: rows new in the batch are COPYed straight in; rows an earlier batch wrote go through
COPY into a temporary table and one INSERT ... SELECT ... ON CONFLICT per table; the outbox is
COPYed straight in as text (seq from its sequence, in row order).
"""

import queue
import threading
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, Table, Uuid

from ops_api.models import OutboxEvent
from ops_api.models.types import UTCDateTime

OUTBOX_COLUMNS = ("entity", "entity_id", "op", "payload", "occurred_at")


@dataclass
class Batch:
    """Encoded rows per table, parents first (rows new in this batch, rows an earlier batch wrote),
    and the batch's outbox events (tuples, or COPY text)."""

    tables: list[tuple[Table, list[tuple], list[tuple]]] = field(default_factory=list)
    outbox: list[tuple] | str = field(default_factory=list)


class Encoder:
    """Row dict → tuple of DB-API values, in the table's column order."""

    def __init__(self, table: Table, dialect):
        self.table = table
        self.names = [c.name for c in table.columns]
        self.procs = [(c.name, _processor(c.type, dialect)) for c in table.columns]

    def __call__(self, row: dict) -> tuple:
        return tuple(p(row[n]) if p is not None and row[n] is not None else row[n] for n, p in self.procs)


def _uuid_hex(value):
    """SQLite stores a Uuid as 32 hex digits; the bulk writer's ids are canonical strings already."""
    return value.replace("-", "") if value.__class__ is str else value.hex


def _memo(process):
    """Many rows share one instant (the op's time): convert each distinct value once per batch."""
    seen: dict = {}

    def memoised(value):
        out = seen.get(value)
        if out is None:
            if len(seen) > 100_000:
                seen.clear()
            out = seen[value] = process(value)
        return out

    return memoised


def _processor(coltype, dialect):
    if isinstance(coltype, Uuid):
        return _uuid_hex if dialect.name == "sqlite" else None  # PostgreSQL's COPY parses the text form
    process = coltype._cached_bind_processor(dialect)
    if isinstance(coltype, UTCDateTime) and process is not None:
        return _memo(process)
    return process


class Sink:
    def __init__(self, dialect):
        self.dialect = dialect
        self.encoders: dict[str, Encoder] = {}

    @staticmethod
    def for_dialect(dialect) -> "Sink":
        return PostgresSink(dialect) if dialect.name == "postgresql" else SqliteSink(dialect)

    def encoder(self, table: Table) -> Encoder:
        if table.name not in self.encoders:
            self.encoders[table.name] = Encoder(table, self.dialect)
        return self.encoders[table.name]

    def encode(self, table: Table, rows) -> list[tuple]:
        enc = self.encoder(table)
        return [enc(r) for r in rows]

    def encode_outbox(self, events: list[dict]) -> list[tuple] | str:
        raise NotImplementedError

    def write(self, conn: Connection, batch: Batch) -> None:
        raise NotImplementedError


class SqliteSink(Sink):
    def __init__(self, dialect):
        super().__init__(dialect)
        outbox = OutboxEvent.__table__
        self.outbox_procs = [_processor(outbox.c[n].type, dialect) for n in OUTBOX_COLUMNS]
        self.sql: dict[str, str] = {}

    def encode_outbox(self, events: list[dict]) -> list[tuple]:
        procs = self.outbox_procs
        return [tuple(p(e[n]) if p is not None else e[n] for n, p in zip(OUTBOX_COLUMNS, procs, strict=True))
                for e in events]

    def upsert_sql(self, table: Table) -> str:
        if table.name not in self.sql:
            names = self.encoder(table).names
            sets = ", ".join(f"{n} = excluded.{n}" for n in names if n != "id")
            self.sql[table.name] = (f"INSERT INTO {table.name} ({', '.join(names)}) "
                                    f"VALUES ({', '.join('?' * len(names))}) ON CONFLICT (id) DO UPDATE SET {sets}")
        return self.sql[table.name]

    def write(self, conn: Connection, batch: Batch) -> None:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        # Foreign keys are not re-checked row by row: the stream is valid by construction, and the
        # service path, which checks them, writes identical rows (tests/simulator/test_paths.py).
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB
        raw = conn.connection.driver_connection
        for table, new, seen in batch.tables:
            raw.executemany(self.upsert_sql(table), new + seen)
        if batch.outbox:
            raw.executemany(f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)}) VALUES (?, ?, ?, ?, ?)", batch.outbox)


def _copy_text(value: str) -> str:
    """COPY's text format escapes backslashes; JSON and the other outbox fields hold no raw tab or
    newline (json escapes control characters), so nothing else needs escaping."""
    return value.replace("\\", "\\\\") if "\\" in value else value


class PostgresSink(Sink):
    def __init__(self, dialect):
        super().__init__(dialect)
        self.iso = _memo(lambda v: v.isoformat())

    def encode_outbox(self, events: list[dict]) -> str:
        iso = self.iso
        return "".join(f"{e['entity']}\t{e['entity_id']}\t{e['op']}\t{_copy_text(e['payload'])}\t"
                       f"{iso(e['occurred_at'])}\n" for e in events)

    def write(self, conn: Connection, batch: Batch) -> None:
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")  # a lost tail means re-seeding anyway
        with conn.connection.driver_connection.cursor() as cur:
            for table, new, seen in batch.tables:
                names = ", ".join(self.encoder(table).names)
                if new:
                    with cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                        for row in new:
                            copy.write_row(row)
                if seen:
                    tmp = f"sim_load_{table.name}"
                    sets = ", ".join(f"{n} = excluded.{n}" for n in self.encoder(table).names if n != "id")
                    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {table.name}) ON COMMIT DELETE ROWS")
                    with cur.copy(f"COPY {tmp} ({names}) FROM STDIN") as copy:
                        for row in seen:
                            copy.write_row(row)
                    cur.execute(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {tmp} "
                                f"ON CONFLICT (id) DO UPDATE SET {sets}")
            if batch.outbox:
                with cur.copy(f"COPY outbox ({', '.join(OUTBOX_COLUMNS)}) FROM STDIN") as copy:
                    copy.write(batch.outbox)


class Loader:
    """Writes batches on a background thread, in order, one transaction each. At most one batch
    waits in the queue, so memory stays at about two batches. A failed write is raised in the
    caller's thread at its next `put` or at `close`, and nothing after it is written."""

    def __init__(self, engine: Engine, sink: Sink):
        self.engine, self.sink = engine, sink
        self.queue: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bulk-loader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.queue.get()) is not None:
            if self.error is None:
                try:
                    with self.engine.begin() as conn:
                        self.sink.write(conn, batch)
                except BaseException as exc:  # handed to the caller's thread
                    self.error = exc

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def put(self, batch: Batch) -> None:
        self._raise()
        self.queue.put(batch)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        self._raise()
