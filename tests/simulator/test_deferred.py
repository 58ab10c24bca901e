"""The bulk load's dropped foreign keys and indexes come back: after a load, after a failed one, and
at the next seed after a killed one."""

from contextlib import nullcontext

import pytest
from sqlalchemy import inspect
from sqlalchemy.schema import DropConstraint, DropIndex

from ops_api import migrations
from ops_api.db import make_engine
from ops_api.models import Base
from simulator.writers.deferred import deferred_keys, restore
from tests.pg import pg_schema
from tests.simulator.conftest import schema_drift


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, worker_id, tmp_path):
    """A migrated store; on SQLite only the indexes are deferred (its foreign keys are table DDL)."""
    with pg_schema(f"deferred_{worker_id}") if request.param == "postgresql" else nullcontext(
            f"sqlite:///{tmp_path}/ops.db") as url:
        migrations.upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_a_failed_load_still_gets_its_keys_and_indexes_back(engine):
    with pytest.raises(RuntimeError, match="load failed"), deferred_keys(engine):
        assert [ix["name"] for ix in inspect(engine).get_indexes("claims") if not ix["unique"]] == []
        if engine.dialect.name == "postgresql":
            assert inspect(engine).get_foreign_keys("claims") == []
        raise RuntimeError("load failed")
    assert schema_drift(engine) == []


def test_the_next_seed_heals_a_store_a_killed_load_left_without_them(engine):
    claims, lines = Base.metadata.tables["claims"], Base.metadata.tables["claim_lines"]
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:  # what a load killed half-way leaves
        if postgres:
            conn.execute(DropConstraint(next(iter(lines.foreign_key_constraints))))
        conn.execute(DropIndex(next(ix for ix in claims.indexes if ix.name == "ix_claims_patient_id")))
    assert len(schema_drift(engine)) == (2 if postgres else 1)
    restore(engine)
    assert schema_drift(engine) == []
