"""Seed an operational store: migrate, build the practice, stream the ops into a writer, summarise."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, func, select, text

from ops_api import migrations
from ops_api.db import make_engine, session_factory
from ops_api.models import Base, Facility
from pms.settings import get_settings

from simulator import engine as sim_engine
from simulator import ops
from simulator.ids import Ids
from simulator.practice import Practice, build
from simulator.scales import SCALES

SUMMARY_TABLES = ("facilities", "providers", "patients", "appointments", "encounters", "encounter_lines", "claims",
                  "claim_lines", "remittances", "payments", "adjustments", "outbox")


@dataclass
class Result:
    practice: Practice
    counts: dict[str, int]


class NotEmpty(RuntimeError):
    pass


def reset(engine: Engine) -> None:
    """Delete every row the simulator writes: the business tables, the outbox, the sim.* users. Other
    users and the audit trail (append-only) stay."""
    skip = {"users", "audit_events", "revoked_tokens", "idempotency_records"}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE username LIKE 'sim.%'"))
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in skip:
                conn.execute(table.delete())
        if engine.dialect.name == "sqlite":
            conn.execute(text("DELETE FROM sqlite_sequence WHERE name IN ('outbox')"))
        else:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('outbox', 'seq'), 1, false)"))


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(select(func.count()).select_from(Base.metadata.tables[t])).scalar_one()
                for t in SUMMARY_TABLES}


def seed(url: str, scale: str, seed_value: int, anchor: date, path: str = "service",
         progress: Callable[[ops.Op], None] | None = None, fresh: bool = False,
         on_practice: Callable[[Practice], None] | None = None) -> Result:
    """Write a simulated practice into the store at `url` (migrated first). The store must hold no
    facility yet (ids start over with every run), unless `fresh` resets it first."""
    migrations.upgrade(url)
    engine = make_engine(url)
    try:
        if fresh:
            reset(engine)
        with engine.connect() as conn:
            if conn.execute(select(func.count()).select_from(Facility)).scalar_one():
                raise NotEmpty("the operational store already holds a practice; seed an empty one (or --reset)")
        practice = build(SCALES[scale], seed_value, anchor)
        if on_practice:
            on_practice(practice)
        stream = sim_engine.stream(practice, get_settings().adjustment_approval_limit)
        ids = Ids(seed_value)
        if path == "service":
            from simulator.writers.service import ServiceWriter

            with session_factory(engine)() as session:
                ServiceWriter(session, ids).write(stream, progress)
        else:
            from simulator.writers.bulk import BulkWriter

            BulkWriter(engine, ids).write(stream, progress)
        return Result(practice, counts(engine))
    finally:
        engine.dispose()
