"""PostgreSQL's advice for populating a database, applied to the bulk load: drop the foreign keys
and the non-unique indexes first, load, then re-create each in one set-based pass (on SQLite the
indexes only).

Kept in place: primary keys (the upserts' ON CONFLICT (id)) and unique constraints (they guard the
data). Re-created from the models' metadata, which tests/ops_api/test_migrations.py holds equal to
the migrated schema, so what comes back is what the migrations made. A load that fails still
re-creates them (every batch that landed is whole, parents first, so the keys validate). A load
killed outright leaves them missing: `restore` runs again at the start of every bulk seed and adds
back whatever is missing, so seeding again (`pms seed --reset`) heals the store.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, ForeignKeyConstraint, Index, inspect
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from ops_api.models import Base

KEEP = {"audit_events", "revoked_tokens", "idempotency_records"}  # tables the simulator does not write


def _deferred(engine: Engine) -> tuple[list[Index], list[ForeignKeyConstraint]]:
    """The non-unique indexes and, on PostgreSQL, the foreign keys (SQLite's are table DDL)."""
    tables = [t for t in Base.metadata.sorted_tables if t.name not in KEEP]
    indexes = [ix for t in tables for ix in sorted(t.indexes, key=lambda ix: ix.name) if not ix.unique]
    keys = [fk for t in tables for fk in sorted(t.foreign_key_constraints, key=lambda fk: fk.name)]
    return indexes, keys if engine.dialect.name == "postgresql" else []


def restore(engine: Engine) -> None:
    """Create the deferred indexes and foreign keys that are missing (all of them after a load)."""
    indexes, keys = _deferred(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB for the index builds' sorts
        schema = inspect(conn)
        for ix in indexes:
            if ix.name not in {i["name"] for i in schema.get_indexes(ix.table.name)}:
                conn.execute(CreateIndex(ix))
        for fk in keys:
            if fk.name not in {k["name"] for k in schema.get_foreign_keys(fk.table.name)}:
                conn.execute(AddConstraint(fk))


@contextmanager
def deferred_keys(engine: Engine) -> Iterator[None]:
    """Drop the foreign keys and non-unique indexes for the load; re-create them after it, also when
    it fails. On SQLite only the indexes: its foreign keys are part of each table's definition, and
    the load does not check them anyway (sink.SqliteSink)."""
    restore(engine)  # a load killed earlier left some missing
    indexes, keys = _deferred(engine)
    with engine.begin() as conn:
        for fk in keys:
            conn.execute(DropConstraint(fk))
        for ix in indexes:
            conn.execute(DropIndex(ix))
    try:
        yield
    finally:
        restore(engine)
