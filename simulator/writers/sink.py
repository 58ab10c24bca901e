"""Set-based writes for the bulk writer: SQLite executemany with an upsert, PostgreSQL COPY.

Values go through each column's own SQLAlchemy bind processor (money to cents on SQLite, UTC,
JSON, encryption at rest, enums), so the stored bytes are those the ORM would store; only the
per-row Python overhead of Core's executemany is skipped.

SQLite: `INSERT ... ON CONFLICT (id) DO UPDATE` in executemany, with PRAGMA synchronous=OFF and a
large cache for the load (the database file is new or reset, so a crash means re-seeding anyway).
PostgreSQL: COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT per table and
batch; the outbox is COPYed straight in (seq from its sequence, in row order).
"""

from sqlalchemy import Connection, Table, Uuid

from ops_api.models import OutboxEvent
from ops_api.models.types import UTCDateTime

OUTBOX_COLUMNS = ("entity", "entity_id", "op", "payload", "occurred_at")


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
    def __init__(self, conn: Connection):
        self.conn = conn
        self.dialect = conn.dialect
        self.encoders: dict[str, Encoder] = {}
        outbox = OutboxEvent.__table__
        self.outbox_procs = [_processor(outbox.c[n].type, self.dialect) for n in OUTBOX_COLUMNS]

    def encoder(self, table: Table) -> Encoder:
        if table.name not in self.encoders:
            self.encoders[table.name] = Encoder(table, self.dialect)
        return self.encoders[table.name]

    def outbox_rows(self, events: list[dict]) -> list[tuple]:
        procs = self.outbox_procs
        return [tuple(p(e[n]) if p is not None else e[n] for n, p in zip(OUTBOX_COLUMNS, procs, strict=True))
                for e in events]

    @staticmethod
    def for_connection(conn: Connection) -> "Sink":
        return PostgresSink(conn) if conn.dialect.name == "postgresql" else SqliteSink(conn)


class SqliteSink(Sink):
    def __init__(self, conn: Connection):
        super().__init__(conn)
        self.sql: dict[str, str] = {}
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        # Foreign keys are not re-checked row by row: the stream is valid by construction, and the
        # service path, which checks them, writes identical rows (tests/simulator/test_paths.py).
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB

    def upsert(self, table: Table, rows: list[dict]) -> None:
        enc = self.encoder(table)
        if table.name not in self.sql:
            cols = ", ".join(enc.names)
            marks = ", ".join("?" * len(enc.names))
            sets = ", ".join(f"{n} = excluded.{n}" for n in enc.names if n != "id")
            self.sql[table.name] = (f"INSERT INTO {table.name} ({cols}) VALUES ({marks}) "
                                    f"ON CONFLICT (id) DO UPDATE SET {sets}")
        self.conn.connection.driver_connection.executemany(self.sql[table.name], [enc(r) for r in rows])

    def insert(self, table: Table, rows: list[dict]) -> None:
        enc = self.encoder(table)
        sql = f"INSERT INTO {table.name} ({', '.join(enc.names)}) VALUES ({', '.join('?' * len(enc.names))})"
        self.conn.connection.driver_connection.executemany(sql, [enc(r) for r in rows])

    def outbox(self, events: list[dict]) -> None:
        sql = f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"
        self.conn.connection.driver_connection.executemany(sql, self.outbox_rows(events))


class PostgresSink(Sink):
    def _cursor(self):
        return self.conn.connection.driver_connection.cursor()

    def upsert(self, table: Table, rows: list[dict]) -> None:
        enc = self.encoder(table)
        cols = ", ".join(enc.names)
        tmp = f"sim_load_{table.name}"
        with self._cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {table.name}) ON COMMIT DELETE ROWS")
            with cur.copy(f"COPY {tmp} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(enc(row))
            sets = ", ".join(f"{n} = excluded.{n}" for n in enc.names if n != "id")
            cur.execute(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {tmp} "
                        f"ON CONFLICT (id) DO UPDATE SET {sets}")
            cur.execute(f"TRUNCATE {tmp}")

    def insert(self, table: Table, rows: list[dict]) -> None:
        enc = self.encoder(table)
        with self._cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(enc.names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(enc(row))

    def outbox(self, events: list[dict]) -> None:
        with self._cursor() as cur, cur.copy(f"COPY outbox ({', '.join(OUTBOX_COLUMNS)}) FROM STDIN") as copy:
            for row in self.outbox_rows(events):
                copy.write_row(row)
