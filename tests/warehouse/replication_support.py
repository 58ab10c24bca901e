"""Helpers for the replication tests and the throughput scratch script.

`Churn` writes random but valid rows for every replicated table through the ORM, so the outbox
hooks produce the events exactly as in production: inserts, updates of random columns, and
deletes of rows nothing references. It is driven by the models' own metadata, so a column added
to a model is exercised without touching this file.

`raw_rows`/`operational_rows` put both sides into one canonical form, so a test can compare
every column of every replicated table.
"""

from __future__ import annotations

import json
import random
import typing
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, lazyload

from ops_api.models import Base
from ops_api.models.types import Money, UTCDateTime
from ops_api.outbox import row_payload
from warehouse.raw_schema import column_hints, raw_tables, storage_type

_TZS = [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
_TEXT = ["O'Brien", 'say "hi"', "back\\slash", "Zoë Ångström", "tab\there", "line\nbreak", "plain", "汉字"]


def replicated_classes() -> dict[str, type]:
    return {m.class_.__tablename__: m.class_ for m in Base.registry.mappers if getattr(m.class_, "replicated", False)}


def _unique_sets(table: sa.Table) -> list[tuple[str, ...]]:
    sets = [tuple(c.name for c in con.columns) for con in table.constraints if isinstance(con, sa.UniqueConstraint)]
    sets += [(c.name,) for c in table.columns if c.unique]
    return sets


class Churn:
    """Random valid inserts, updates and deletes on every replicated table."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        self.classes = replicated_classes()
        names = set(self.classes)
        self.order = [t for t in Base.metadata.sorted_tables if t.name in names]  # parents first
        referenced = {fk.column.table.name for t in self.order for fk in t.foreign_keys
                      if fk.parent.table is not fk.column.table}
        self.leaves = [t.name for t in self.order if t.name not in referenced]
        self.ids: dict[str, list[uuid.UUID]] = defaultdict(list)
        self.seen: dict[tuple[str, tuple[str, ...]], set] = defaultdict(set)
        self.counter = 0
        self.hints = {name: column_hints(cls) for name, cls in self.classes.items()}

    # --- values ---
    def _text(self, length: int | None) -> str:
        self.counter += 1
        n = str(self.counter)
        if length is not None and length < 12:
            return n[-length:]
        return f"{self.rng.choice(_TEXT)} {n}"[: length or None]

    def _value(self, table: str, col: sa.Column):
        rng, t = self.rng, storage_type(col.type)
        fks = [fk for fk in col.foreign_keys]
        if fks:
            pool = self.ids.get(fks[0].column.table.name) or []
            if col.nullable and (not pool or rng.random() < 0.3):
                return None
            return rng.choice(pool)
        if col.nullable and rng.random() < 0.25:
            return None
        if isinstance(t, sa.JSON):
            hint = self.hints[table].get(col.key)
            if typing.get_origin(hint) is list:
                item = typing.get_args(hint)[0]
                return [self._text(8) if item is str else rng.randint(1, 12) for _ in range(rng.randint(0, 3))]
            return {"line1": self._text(40), "city": rng.choice(_TEXT), "zip": f"{rng.randint(0, 99999):05d}",
                    "nested": {"n": rng.randint(0, 9)}}
        if isinstance(t, Money):
            return Decimal(rng.randint(-100_000, 10_000_000)) / 100
        if isinstance(t, UTCDateTime):
            base = datetime(2019, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 8 * 365 * 86400),
                                                                  microseconds=rng.randint(0, 999_999))
            return base.astimezone(rng.choice(_TZS))
        if isinstance(t, sa.Enum):
            return rng.choice(t.enums)
        if isinstance(t, sa.String):
            return self._text(t.length)
        if isinstance(t, sa.Uuid):
            return uuid.uuid4()
        if isinstance(t, sa.Boolean):
            return rng.random() < 0.5
        if isinstance(t, sa.Integer):
            self.counter += 1
            return self.counter
        if isinstance(t, sa.Numeric):
            return Decimal(rng.randint(0, 99_999)) / 100
        if isinstance(t, sa.Date):
            return date(1925, 1, 1) + timedelta(days=rng.randint(0, 110 * 365))
        if isinstance(t, sa.Time):
            return time(rng.randint(0, 23), rng.choice([0, 15, 30, 45]))
        raise TypeError(f"no generator for {table}.{col.name}: {t!r}")

    def row(self, table: sa.Table) -> dict | None:
        uniques = _unique_sets(table)
        for _ in range(20):
            row = {c.key: self._value(table.name, c) for c in table.columns
                   if c.name not in ("id", "created_at", "updated_at")}
            keys = [(u, tuple(row.get(c) for c in u)) for u in uniques]
            if all(None in vals or vals not in self.seen[(table.name, u)] for u, vals in keys):
                for u, vals in keys:
                    self.seen[(table.name, u)].add(vals)
                return row
        return None

    # --- operations ---
    def insert(self, session: Session, per_table: int = 1) -> None:
        for table in self.order:
            cls = self.classes[table.name]
            for _ in range(per_table):
                row = self.row(table)
                if row is not None:
                    obj = cls(id=uuid.uuid4(), **row)
                    session.add(obj)
                    self.ids[table.name].append(obj.id)
            session.flush()  # parents before children pick them

    def _load(self, session: Session, name: str, ids: list[uuid.UUID]) -> list:
        cls = self.classes[name]
        with session.no_autoflush:
            return list(session.scalars(select(cls).where(cls.id.in_(ids))))

    def update(self, session: Session, n: int) -> None:
        """Change one random non-key column on `n` random rows (one query per table)."""
        picks: dict[str, set[uuid.UUID]] = defaultdict(set)
        for _ in range(n):
            name = self.rng.choice([t for t in self.classes if self.ids[t]])
            picks[name].add(self.rng.choice(self.ids[name]))
        for name, ids in picks.items():
            table = self.classes[name].__table__
            cols = [c for c in table.columns if not c.foreign_keys and not c.primary_key and c.name not in
                    ("created_at", "updated_at") and not any(c.name in u for u in _unique_sets(table))]
            for obj in self._load(session, name, list(ids)) if cols else []:
                col = self.rng.choice(cols)
                setattr(obj, col.key, self._value(name, col))
                # Stamped here, not by `onupdate`: SQLAlchemy's executemany UPDATE copies the first
                # row's onupdate value onto every object of the batch, so the outbox payload would
                # differ from the stored row by microseconds (an ops_api issue, reported; not ours).
                obj.updated_at = datetime.now(UTC)
        session.flush()

    def delete(self, session: Session, n: int) -> None:
        """Delete `n` random rows that no other row references."""
        picks: dict[str, list[uuid.UUID]] = defaultdict(list)
        for _ in range(n):
            candidates = [t for t in self.leaves if self.ids[t]]
            if not candidates:
                break
            name = self.rng.choice(candidates)
            ids = self.ids[name]
            picks[name].append(ids.pop(self.rng.randrange(len(ids))))
        for name, ids in picks.items():
            for obj in self._load(session, name, ids):
                session.delete(obj)
        session.flush()

    def run(self, engine: Engine, events: int, per_commit: int = 400) -> int:
        """Write at least `events` outbox events in commits of about `per_commit`; returns the count written.

        Counted by seq, not rows: a replicator may be pruning the outbox meanwhile.
        """
        before = last_seq(engine)
        per_table = max(1, per_commit // (len(self.order) * 2))
        with Session(engine, expire_on_commit=False) as session:
            while last_seq(engine) - before < events:
                self.insert(session, per_table)
                self.update(session, per_table * 4)
                self.delete(session, max(1, per_table // 2))
                session.commit()
                session.expunge_all()
        return last_seq(engine) - before


def outbox_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT count(*) FROM outbox"))


def last_seq(engine: Engine) -> int:
    """The last outbox seq handed out, even if the outbox has been pruned empty since."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return conn.scalar(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")) or 0
        sequence = conn.scalar(sa.text("SELECT pg_get_serial_sequence('outbox', 'seq')"))
        return conn.scalar(sa.text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}"))


# --- canonical rows for comparison ----------------------------------------------------------

def _canon(ch_type: str, value):
    """One comparable form for a value from a JSON payload (strings) or from ClickHouse (typed)."""
    if value is None:
        return [] if ch_type.startswith("Array") else None
    base = ch_type.removeprefix("LowCardinality(").removeprefix("Nullable(")
    if base.startswith("Decimal"):
        return Decimal(str(value))
    if base.startswith("DateTime64"):
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)
    if base.startswith("Date32"):
        return date.fromisoformat(value) if isinstance(value, str) else value
    if base.startswith("UUID"):
        return uuid.UUID(str(value))
    if base.startswith("Array"):
        return list(value)
    if base.startswith("String") and not isinstance(value, str):
        return json.dumps(value, sort_keys=True)  # a JSON dict from the payload
    if base.startswith("String") and value[:1] in "{[":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return value


def raw_rows(client, database: str, table: str, final: bool = True) -> dict:
    """{id: {column: value}} of raw.<table> (latest live versions with FINAL)."""
    spec = raw_tables()[table]
    cols = [c.name for c in spec.columns]
    sql = f"SELECT {', '.join(f'`{c}`' for c in cols)} FROM `{database}`.`{table}`{' FINAL' if final else ''}"
    out = {}
    for row in client.query(sql).result_rows:
        canon = {c.name: _canon(c.type, v) for c, v in zip(spec.columns, row, strict=True)}
        out[canon["id"]] = canon
    return out


def operational_rows(engine: Engine, table: str) -> dict:
    """{id: {column: value}} of the operational table, serialized as the outbox publishes rows."""
    spec = raw_tables()[table]
    cls = replicated_classes()[table]
    out = {}
    with Session(engine) as session:
        for obj in session.scalars(select(cls).options(lazyload("*"))):  # columns only
            payload = json.loads(json.dumps(row_payload(obj)))
            canon = {c.name: _canon(c.type, payload.get(c.name)) for c in spec.columns}
            out[canon["id"]] = canon
    return out


def assert_replicated(engine: Engine, client, database: str) -> dict[str, int]:
    """Every column of every live operational row equals raw FINAL; returns the row count per table."""
    counts = {}
    for table in raw_tables():
        ops, raw = operational_rows(engine, table), raw_rows(client, database, table)
        assert raw.keys() == ops.keys(), f"{table}: {len(ops.keys() - raw.keys())} missing, " \
                                         f"{len(raw.keys() - ops.keys())} extra"
        for key, row in ops.items():
            assert raw[key] == row, f"{table} {key}: {[c for c in row if raw[key][c] != row[c]]} differ"
        counts[table] = len(ops)
    return counts
