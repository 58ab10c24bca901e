"""Reconciling the warehouse with the operational store, for the asset checks.

Both sides must describe the same moment, and the operational store keeps changing (the API, the
live simulator). `stable_read` therefore runs a comparison between two probes of the replicator and
accepts it only when nothing moved: raw.* was caught up before and after and its high water did not
change. The marts add one condition: they were built from that same high water (recorded by the dbt
asset). A comparison that never gets a quiet moment is reported as not comparable, never as equal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from warehouse.raw_schema import RAW_DATABASE

T = TypeVar("T")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class StableRead(Generic[T]):
    value: T | None  # None: the stores never held still
    high_water: int | None
    attempts: int


def stable_read(engine: Engine, client, read: Callable[[], T], attempts: int = 5,
                pause: float = 1.0, expected_high_water: int | None = None) -> StableRead[T]:
    """`read()` taken while replication is caught up and still (and at `expected_high_water`, if given)."""
    from warehouse.replication import replication_status

    high_water = None
    for attempt in range(1, attempts + 1):
        before = replication_status(engine, client)
        if before.warehouse_error:
            raise ConnectionError(f"warehouse unreachable: {before.warehouse_error}")
        high_water = before.high_water
        if before.caught_up and expected_high_water in (None, before.high_water):
            value = read()
            after = replication_status(engine, client)
            if after.caught_up and after.high_water == before.high_water:
                return StableRead(value, before.high_water, attempt)
        if attempt < attempts:
            time.sleep(pause)
    return StableRead(None, high_water, attempts)


@contextmanager
def read_only_session(engine: Engine) -> Iterator[Session]:
    """A session that cannot write: SQLite refuses writes on the connection, PostgreSQL runs read-only."""
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA query_only = ON")
        elif engine.dialect.name == "postgresql":
            conn = conn.execution_options(postgresql_readonly=True)
        try:
            with Session(bind=conn) as session:
                yield session
                session.rollback()
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA query_only = OFF")


# -- row counts -----------------------------------------------------------------------------------

def ops_row_counts(engine: Engine, tables: list[str]) -> dict[str, int]:
    from ops_api.models import Base

    with read_only_session(engine) as session:
        return {t: session.scalar(select(func.count()).select_from(Base.metadata.tables[t])) for t in tables}


def raw_row_counts(client, tables: list[str]) -> dict[str, int]:
    """Live entities per raw table: the latest version of each id, deletes dropped (FINAL)."""
    union = " union all ".join(f"select '{t}', count() from `{RAW_DATABASE}`.`{t}` final where _deleted = 0"
                               for t in tables)
    return {t: int(n) for t, n in client.query(union).result_rows}


# -- receivables ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Receivables:
    insurance: Decimal
    patient: Decimal
    credit: Decimal

    def as_metadata(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}_{k}": float(v) for k, v in vars(self).items()}


def ops_receivables(engine: Engine) -> Receivables:
    """Σ over patients of the billing service's own balance (ops_api.services.payments.balance)."""
    from ops_api.models import Patient, User
    from ops_api.principal import Principal
    from ops_api.services.payments import balance
    from pms.enums import Role

    principal = Principal(User(username="orchestration-reconciliation", role=Role.admin, facility_ids=[]))
    insurance = patient = credit = ZERO
    with read_only_session(engine) as session:
        for patient_id in session.scalars(select(Patient.id)).all():
            account = balance(session, principal, patient_id)
            insurance += account["insurance_balance"]
            patient += account["patient_balance"]
            credit += account["credit_balance"]
    return Receivables(insurance, patient, credit)


MARTS_RECEIVABLES_SQL = """
    select sum(ar_insurance), sum(ar_patient), sum(credit_balance)
    from marts.fct_kpi_daily
    where date = (select max(date) from marts.fct_kpi_daily)
"""


def marts_receivables(client) -> Receivables:
    """The latest end-of-day A/R snapshot of `marts.fct_kpi_daily`, summed over facilities."""
    insurance, patient, credit = client.query(MARTS_RECEIVABLES_SQL).result_rows[0]
    return Receivables(*(Decimal(v or 0).quantize(ZERO) for v in (insurance, patient, credit)))
