"""The `raw` database: one ReplacingMergeTree table per replicated entity, derived from the models.

Each raw row is one entity version: the model's columns plus
  `_version UInt64`   the outbox seq of the event (higher = newer),
  `_deleted UInt8`    1 when the event was a delete (the row then carries the last values),
  `_replicated_at`    when the replicator wrote it.
`ReplacingMergeTree(_version, _deleted) ORDER BY id` collapses versions in background merges
(keeping a deleted id's newest row as a tombstone); readers cannot wait for merges, and
`SELECT ... FROM raw.t FINAL` returns exactly the live operational rows: the newest version per
id, minus ids whose newest version is a delete (see warehouse/replication/__init__.py, the
contract dbt staging relies on).

The schema is migrated by code: `migrate()` diffs the models against `system.columns`, creates
missing tables, adds missing columns, and records every change in `raw._schema_migrations`.
Columns are only ever added; a changed type is reported, never rewritten, since raw history
may depend on the old type.
"""

from __future__ import annotations

import hashlib
import logging
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.types import TypeDecorator

from ops_api.models.types import Money, UTCDateTime

log = logging.getLogger(__name__)

RAW_DATABASE = "raw"
MIGRATIONS_TABLE = "_schema_migrations"
STATE_TABLE = "_replication_state"

VERSION, DELETED, REPLICATED_AT = "_version", "_deleted", "_replicated_at"
META_COLUMNS = (
    (VERSION, "UInt64"),
    (DELETED, "UInt8"),
    (REPLICATED_AT, "DateTime64(3, 'UTC') DEFAULT now64(3)"),
)
# Incremental dbt runs look for rows replicated since their last build (dbt/macros/incremental.sql).
# The sort key (id) cannot skip that scan; this index skips the granules of parts written before it
# (parts hold one replication batch until merges fold them into older ones).
REPLICATED_AT_INDEX = "replicated_at_minmax"
INDEXES = ((REPLICATED_AT_INDEX, f"{REPLICATED_AT} TYPE minmax GRANULARITY 1"),)


@dataclass(frozen=True)
class RawColumn:
    name: str
    type: str  # ClickHouse type, e.g. "Nullable(Decimal(18, 2))"


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: tuple[RawColumn, ...]  # entity columns, `id` first; META_COLUMNS follow

    def create_sql(self, database: str) -> str:
        cols = ([f"`{c.name}` {c.type}" for c in self.columns] + [f"`{n}` {t}" for n, t in META_COLUMNS]
                + [f"INDEX `{n}` {definition}" for n, definition in INDEXES])
        return (f"CREATE TABLE IF NOT EXISTS `{database}`.`{self.name}` (\n  " + ",\n  ".join(cols) + "\n)\n"
                f"ENGINE = ReplacingMergeTree({VERSION}, {DELETED})\nORDER BY id")


# Bookkeeping tables, owned by this module so that they are versioned with the rest.
BOOKKEEPING = {
    MIGRATIONS_TABLE: """CREATE TABLE IF NOT EXISTS `{db}`.`_schema_migrations` (
  version UInt32, applied_at DateTime64(3, 'UTC'), fingerprint String, statements Array(String)
) ENGINE = MergeTree ORDER BY version""",
    STATE_TABLE: """CREATE TABLE IF NOT EXISTS `{db}`.`_replication_state` (
  stream String, revision UInt64, source String,
  position UInt64, high_water UInt64,
  gap_lo Array(UInt64), gap_hi Array(UInt64), gap_token Array(UInt64), gap_since Array(DateTime64(3, 'UTC')),
  events_loaded UInt64, updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(revision) ORDER BY stream""",
}


# --- models → ClickHouse types ---------------------------------------------------------------

def _json_type(hint) -> str:
    """JSON columns are typed by the model's annotation: list[str], list[int], or anything else as text."""
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint) or (None,)
        if item is str:
            return "Array(String)"
        if item is int:
            return "Array(Int32)"
    return "String"  # dicts and mixed values: the JSON text


def _decimal(precision: int | None, scale: int | None) -> str:
    precision, scale = precision or 18, 2 if scale is None else scale
    return f"Decimal({9 if precision <= 9 else 18 if precision <= 18 else 38}, {scale})"


def storage_type(t: sa.types.TypeEngine) -> sa.types.TypeEngine:
    """Unwrap TypeDecorators (e.g. EncryptedString → Text), except the project's own value types."""
    while isinstance(t, TypeDecorator) and not isinstance(t, Money | UTCDateTime):
        t = t.impl_instance
    return t


def clickhouse_type(column: sa.Column, hint=None) -> str:
    """The ClickHouse type of one model column; unknown SQL types fail loudly rather than guess."""
    t = storage_type(column.type)
    if isinstance(t, Money):
        base = "Decimal(18, 2)"
    elif isinstance(t, UTCDateTime | sa.DateTime):
        base = "DateTime64(6, 'UTC')"
    elif isinstance(t, sa.JSON):
        base = _json_type(hint)
        if base.startswith("Array"):
            return base  # Array cannot be Nullable in ClickHouse: a NULL list arrives as []
    elif isinstance(t, sa.Enum):
        return "LowCardinality(Nullable(String))" if column.nullable else "LowCardinality(String)"
    elif isinstance(t, sa.String):  # also Text
        base = "String"
    elif isinstance(t, sa.Uuid):
        base = "UUID"
    elif isinstance(t, sa.Boolean):
        base = "Bool"
    elif isinstance(t, sa.BigInteger):
        base = "Int64"
    elif isinstance(t, sa.SmallInteger):
        base = "Int16"
    elif isinstance(t, sa.Integer):
        base = "Int32"
    elif isinstance(t, sa.Float):
        base = "Float64"
    elif isinstance(t, sa.Numeric):
        base = _decimal(t.precision, t.scale)
    elif isinstance(t, sa.Date):
        base = "Date32"  # Date starts in 1970; birth dates do not
    elif isinstance(t, sa.Time):
        base = "String"  # 'HH:MM:SS' as in the payload; ClickHouse has no time-of-day type to match
    else:
        raise TypeError(f"no ClickHouse type for {column.table.name}.{column.name}: {t!r}")
    return f"Nullable({base})" if column.nullable and not column.primary_key else base


def column_hints(cls) -> dict:
    """Annotations of a mapped class with `Mapped[...]` and `| None` peeled off."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        if typing.get_origin(hint) is Mapped:
            hint = typing.get_args(hint)[0]
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            hint = args[0] if len(args) == 1 else hint
        out[name] = hint
    return out


def table_for_model(cls) -> RawTable:
    """Raw columns are named by attribute, as the outbox payload (ops_api/outbox.py row_payload) is."""
    hints = column_hints(cls)
    attrs = sorted(sa.inspect(cls).column_attrs, key=lambda a: a.key != "id")  # id first, model order otherwise
    columns = (RawColumn(a.key, clickhouse_type(a.columns[0], hints.get(a.key))) for a in attrs)
    return RawTable(cls.__table__.name, tuple(columns))


def raw_tables() -> dict[str, RawTable]:
    """Every replicated table's raw definition, keyed by table name (= the outbox `entity`)."""
    from ops_api.models import Base

    classes = [m.class_ for m in Base.registry.mappers if getattr(m.class_, "replicated", False)]
    return {t.name: t for t in sorted((table_for_model(c) for c in classes), key=lambda t: t.name)}


# --- migration ---------------------------------------------------------------------------------

def _norm(ch_type: str) -> str:
    return ch_type.split(" DEFAULT ")[0].replace(" ", "")


def fingerprint(tables: dict[str, RawTable]) -> str:
    text = ";".join(f"{t.name}:" + ",".join(f"{c.name} {_norm(c.type)}" for c in t.columns)
                    for t in tables.values())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan(existing: dict[str, dict[str, str]], tables: dict[str, RawTable], database: str,
         indexes: dict[str, set[str]] | None = None) -> list[str]:
    """DDL that brings `existing` ({table: {column: type}}) up to `tables`; empty when up to date.
    With `indexes` ({table: index names}), also adds the missing skip indexes (and builds them for
    the parts already written)."""
    statements = [BOOKKEEPING[name].format(db=database) for name in BOOKKEEPING if name not in existing]
    for table in tables.values():
        have = existing.get(table.name)
        if have is None:
            statements.append(table.create_sql(database))
            continue
        for col in table.columns:
            if col.name not in have:
                statements.append(f"ALTER TABLE `{database}`.`{table.name}` ADD COLUMN IF NOT EXISTS "
                                  f"`{col.name}` {col.type}")
            elif _norm(have[col.name]) != _norm(col.type):
                log.warning("raw.%s.%s is %s but the model says %s; left unchanged",
                            table.name, col.name, have[col.name], col.type)
        for name, definition in INDEXES if indexes is not None else ():
            if name not in indexes.get(table.name, set()):
                statements.append(f"ALTER TABLE `{database}`.`{table.name}` ADD INDEX IF NOT EXISTS `{name}` {definition}")
                statements.append(f"ALTER TABLE `{database}`.`{table.name}` MATERIALIZE INDEX `{name}`")
    return statements


def existing_columns(client, database: str) -> dict[str, dict[str, str]]:
    rows = client.query("SELECT table, name, type FROM system.columns WHERE database = {db:String}",
                        parameters={"db": database}).result_rows
    out: dict[str, dict[str, str]] = {}
    for table, name, ch_type in rows:
        out.setdefault(table, {})[name] = ch_type
    return out


def existing_indexes(client, database: str) -> dict[str, set[str]]:
    rows = client.query("SELECT table, name FROM system.data_skipping_indices WHERE database = {db:String}",
                        parameters={"db": database}).result_rows
    out: dict[str, set[str]] = {}
    for table, name in rows:
        out.setdefault(table, set()).add(name)
    return out


def migrate(client, database: str = RAW_DATABASE, tables: dict[str, RawTable] | None = None) -> list[str]:
    """Create or extend the raw schema; idempotent. Returns the DDL it ran (recorded as a new version)."""
    tables = raw_tables() if tables is None else tables
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    statements = plan(existing_columns(client, database), tables, database, existing_indexes(client, database))
    if not statements:
        return []
    for sql in statements:
        client.command(sql)
    last = client.query(f"SELECT max(version) FROM `{database}`.`{MIGRATIONS_TABLE}`").result_rows[0][0] or 0
    client.insert(f"{database}.{MIGRATIONS_TABLE}",
                  [[last + 1, datetime.now(UTC), fingerprint(tables), statements]],
                  column_names=["version", "applied_at", "fingerprint", "statements"])
    log.info("raw schema %s migrated to version %d (%d statements)", database, last + 1, len(statements))
    return statements
