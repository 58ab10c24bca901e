"""The bulk writer's loader thread: a failed write reaches the writer, and nothing after it lands."""

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ops_api import migrations
from ops_api.db import make_engine
from ops_api.models import Base, OutboxEvent
from simulator.writers.sink import Batch, Loader, Sink


def test_a_failed_batch_is_raised_to_the_writer_and_later_batches_are_not_written(tmp_path):
    url = f"sqlite:///{tmp_path}/ops.db"
    migrations.upgrade(url)
    engine = make_engine(url)
    sink = Sink.for_dialect(engine.dialect)
    facilities = Base.metadata.tables["facilities"]
    no_name = sink.encode(facilities, [{c.name: None for c in facilities.columns} | {"id": "f" * 32}])
    event = sink.encode_outbox([{"entity": "facilities", "entity_id": "f" * 32, "op": "upsert", "payload": "{}",
                                 "occurred_at": datetime(2026, 1, 5, tzinfo=UTC)}])
    loader = Loader(engine, sink)
    loader.put(Batch(outbox=event))
    loader.put(Batch(tables=[(facilities, no_name, [])], outbox=event))  # NOT NULL name: the batch fails whole
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL constraint failed: facilities.name"):
        loader.put(Batch(outbox=event))
        loader.put(Batch(outbox=event))
        loader.close()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OutboxEvent)).scalar_one() == 1
    engine.dispose()
