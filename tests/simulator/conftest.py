"""Simulated practices for the tests, built once per worker: the tiny scale through the service layer
(the reference) and through the bulk writer, on SQLite and on PostgreSQL."""

from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ops_api.db import make_engine
from ops_api.models import Base
from pms.settings import get_settings
from simulator import run
from simulator.dump import dump
from simulator.writers import bulk
from tests.pg import pg_schema

ANCHOR = date(2025, 6, 2)
SEED = 1  # its tiny practice has appeals decided, refunds and adjustments approved above the limit
LIMIT = Decimal("150.00")  # a low approval limit, so the tiny practice needs an admin's approval


@pytest.fixture(scope="session")
def low_limit():
    settings = get_settings()
    old = settings.adjustment_approval_limit
    settings.adjustment_approval_limit = LIMIT
    yield LIMIT
    settings.adjustment_approval_limit = old


def schema_drift(engine) -> list:
    """How the store's schema differs from the models' (after a load: an index or key not re-created)."""
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


@contextmanager
def small_batches():
    """Bulk batches of a few hundred ops, so the tiny practice's rows change across batches (the
    loader's upsert of rows an earlier batch wrote) as a large practice's do."""
    old, bulk.BATCH = bulk.BATCH, 400
    try:
        yield
    finally:
        bulk.BATCH = old


def seed_sqlite(path, scale="tiny", seed=SEED, write_path="bulk", anchor=ANCHOR) -> str:
    url = f"sqlite:///{path}"
    run.seed(url, scale, seed, anchor, write_path)
    return url


def dumped(url: str) -> dict:
    engine = make_engine(url)
    try:
        return dump(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def service_url(tmp_path_factory, low_limit) -> str:
    return seed_sqlite(tmp_path_factory.mktemp("service") / "ops.db", write_path="service")


@pytest.fixture(scope="session")
def bulk_url(tmp_path_factory, low_limit) -> str:
    with small_batches():
        return seed_sqlite(tmp_path_factory.mktemp("bulk") / "ops.db")


@pytest.fixture(scope="session")
def pg_url(worker_id, low_limit):
    with pg_schema(f"sim_test_{worker_id}") as url:
        yield url
