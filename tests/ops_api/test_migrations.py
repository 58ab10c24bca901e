"""Alembic: upgrade from empty, downgrade cleanly, and the migrations match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ops_api import migrations
from ops_api.db import make_engine
from ops_api.models import Base
from tests.pg import pg_schema


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request, tmp_path, worker_id):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/migrate.db"
        return
    with pg_schema(f"pms_migrate_{worker_id}") as url:
        yield url


def test_upgrade_downgrade_upgrade(empty_url):
    migrations.upgrade(empty_url)
    engine = make_engine(empty_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    migrations.downgrade(empty_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrations.upgrade(empty_url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
