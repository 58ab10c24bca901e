"""The bulk writer's loader process: a failed write reaches the writer, nothing after it lands, and a
loader that dies is reported instead of waited for."""

import os
import signal
import sqlite3
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import func, select

from ops_api import migrations
from ops_api.db import make_engine
from ops_api.models import Facility, OutboxEvent
from simulator.ids import Ids
from simulator.writers.rows import RowStore
from simulator.writers.sink import Batch, LoadFailed, Loader
from tests.pg import pg_schema

STORE = RowStore(Ids(7))


def _facility(name: str | None) -> Batch:
    """A batch that inserts one facility (its row and its outbox event)."""
    spec = STORE.specs[Facility]
    STORE.insert(datetime(2026, 1, 5, tzinfo=UTC), spec, spec.new(name=name, timezone="America/Chicago", pos_code="11"))
    return STORE.take()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path, worker_id):
    """A migrated, empty store and the error its NOT NULL violation raises."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/ops.db"
        migrations.upgrade(url)
        yield url, sqlite3.IntegrityError
        return
    with pg_schema(f"loader_{worker_id}") as url:
        migrations.upgrade(url)
        yield url, psycopg.errors.NotNullViolation


def _rows(url: str) -> tuple[int, int]:
    """(facilities, outbox events) in the store."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(select(func.count()).select_from(model)).scalar_one()
                         for model in (Facility, OutboxEvent))
    finally:
        engine.dispose()


def test_a_failed_batch_is_raised_to_the_writer_and_later_batches_are_not_written(store):
    url, error = store
    loader = Loader(url)
    loader.put(_facility("Main St Clinic"))
    loader.put(_facility(None))  # NOT NULL name: the batch fails whole, its outbox event too
    with pytest.raises(error, match="name"):
        loader.put(_facility("North Clinic"))
        loader.put(_facility("South Clinic"))
        loader.close()
    with pytest.raises(error):  # again: the writer closes the loader after a failed put, and learns why
        loader.close()
    assert loader.process.exitcode == 1
    assert _rows(url) == (1, 1)


def test_a_loader_that_dies_stops_the_writer_with_a_clear_error(tmp_path):
    url = f"sqlite:///{tmp_path}/ops.db"
    migrations.upgrade(url)
    loader = Loader(url)
    os.kill(loader.process.pid, signal.SIGKILL)
    loader.process.join(timeout=30)
    with pytest.raises(LoadFailed, match="exited with code -9"):
        loader.put(_facility("Main St Clinic"))
    with pytest.raises(LoadFailed, match="exited with code -9"):
        loader.close()  # returns at once: nothing to wait for
    assert _rows(url) == (0, 0)
