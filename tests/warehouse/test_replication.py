"""Replication outbox → raw.* against the embedded warehouse, on SQLite and PostgreSQL, with faults.

Every test gets a raw database of its own on the worker's embedded server and an emptied
operational store (migrated once per worker with Alembic, as in production). Equality is
checked on every column of every replicated table, reading raw through FINAL as dbt does.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import DeclarativeBase, Session

from ops_api import migrations
from ops_api.db import make_engine
from ops_api.models import Facility, OutboxEvent, Payer
from tests.ops_api.conftest import truncate_all
from tests.pg import create_schema, drop_schema, schema_name
from tests.warehouse.conftest import TEST_PASSWORD, TEST_USER
from tests.warehouse.replication_support import Churn, assert_replicated, last_seq, outbox_count, raw_rows
from warehouse.client import get_client
from warehouse.embedded.process import start_server
from warehouse.raw_schema import MIGRATIONS_TABLE, STATE_TABLE, migrate, raw_tables, table_for_model
from warehouse.replication import Replicator, replication_status
from warehouse.replication import replicator as replicator_module

pytestmark = pytest.mark.warehouse

REPO = Path(__file__).resolve().parents[2]


# --- fixtures ----------------------------------------------------------------------------------

@dataclass
class Raw:
    database: str
    url: str  # CLICKHOUSE_URL for subprocesses, credentials included
    client: object


def _ch_url(host: str, port: int) -> str:
    return f"http://{TEST_USER}:{TEST_PASSWORD}@{host}:{port}"


@pytest.fixture
def raw(embedded_server) -> Iterator[Raw]:
    """A raw database of this test's own on the worker's embedded warehouse."""
    url = _ch_url(embedded_server.host, embedded_server.port)
    client = get_client(url=url)
    name = f"raw_{uuid.uuid4().hex[:10]}"
    yield Raw(name, url, client)
    client.command(f"DROP DATABASE IF EXISTS `{name}`")
    client.close()


@pytest.fixture(scope="session")
def ops_stores(tmp_path_factory, worker_id) -> Iterator[dict[str, tuple[str, Engine]]]:
    """Operational stores migrated once per worker, created on first use: {name: (url, engine)}."""
    stores: dict[str, tuple[str, Engine]] = {}
    schema = schema_name(f"pms_repl_{worker_id}")  # unique even when several suites share the server

    def get(name: str) -> tuple[str, Engine]:
        if name not in stores:
            if name == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('ops')}/ops.db"
            else:
                url = create_schema(schema)
            migrations.upgrade(url)
            stores[name] = (url, make_engine(url))
        return stores[name]

    yield get
    for name, (_url, engine) in stores.items():
        engine.dispose()
        if name == "postgres":
            drop_schema(schema)


def _emptied(ops_stores, name: str) -> tuple[str, Engine]:
    url, engine = ops_stores(name)
    truncate_all(engine)
    return url, engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, ops_stores) -> Engine:
    return _emptied(ops_stores, request.param)[1]


@pytest.fixture
def sqlite_store(ops_stores) -> tuple[str, Engine]:
    return _emptied(ops_stores, "sqlite")


@pytest.fixture
def pg_store(ops_stores) -> Engine:
    return _emptied(ops_stores, "postgres")[1]


def _replicator(engine: Engine, raw: Raw, **kw) -> Replicator:
    return Replicator(engine, raw.client, database=raw.database, **kw)


def _max_seq(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT coalesce(max(seq), 0) FROM outbox"))


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# --- correctness -------------------------------------------------------------------------------

def test_every_column_of_every_table_replicates_incrementally_with_deletes(store, raw):
    churn = Churn(seed=1)
    churn.run(store, 700)
    replicator = _replicator(store, raw, batch_size=250)
    assert replicator.run() == outbox_count(store)
    counts = assert_replicated(store, raw.client, raw.database)
    assert all(counts.values()), counts  # every replicated table took part

    churn.run(store, 400)  # updates and deletes of rows already in raw, and new rows
    replicator.run()
    assert_replicated(store, raw.client, raw.database)
    deleted = sum(raw.client.command(f"SELECT count() FROM `{raw.database}`.`{t}` WHERE _deleted = 1")
                  for t in churn.leaves)
    assert deleted > 0  # deletes arrived as _deleted = 1 versions, which FINAL hides

    status = replication_status(store, raw.client, raw.database)
    assert (status.pending_events, status.lag_seconds, status.open_gaps) == (0, 0.0, 0)
    assert status.position == status.high_water == _max_seq(store)


def test_redelivered_batch_after_crash_is_deduplicated_by_version(sqlite_store, raw, monkeypatch):
    _url, engine = sqlite_store
    Churn(seed=2).run(engine, 300)

    def crash(*_args):
        raise ConnectionResetError("killed before the position was saved")

    monkeypatch.setattr(replicator_module, "save_state", crash)
    with pytest.raises(ConnectionResetError):
        _replicator(engine, raw).step()  # rows written, position not
    monkeypatch.undo()
    raw.client.command(f"SYSTEM STOP MERGES `{raw.database}`.`patients`")  # keep both copies to look at
    _replicator(engine, raw).run()  # resumes from position 0: the whole batch again

    duplicated = raw.client.command(
        f"SELECT count() FROM (SELECT id, _version FROM `{raw.database}`.`patients` "
        "GROUP BY id, _version HAVING count() > 1)")
    assert duplicated > 0
    assert_replicated(engine, raw.client, raw.database)
    # The argMax form of the dedupe contract agrees with FINAL.
    arg_max = raw.client.query(
        f"SELECT id, argMax(last_name, _version) FROM `{raw.database}`.`patients` "
        "GROUP BY id HAVING argMax(_deleted, _version) = 0").result_rows
    assert {uuid.UUID(str(i)): n for i, n in arg_max} == {
        k: v["last_name"] for k, v in raw_rows(raw.client, raw.database, "patients").items()}


def test_new_model_column_is_added_to_raw_and_replicated(sqlite_store, raw):
    _url, engine = sqlite_store
    tables = raw_tables()
    assert migrate(raw.client, raw.database, tables)
    assert migrate(raw.client, raw.database, tables) == []  # idempotent
    extended = {**tables, "payers": table_for_model(_payer_with_nickname())}
    assert migrate(raw.client, raw.database, extended) == [
        f"ALTER TABLE `{raw.database}`.`payers` ADD COLUMN IF NOT EXISTS `nickname` Nullable(String)"]
    versions = raw.client.query(f"SELECT version FROM `{raw.database}`.`{MIGRATIONS_TABLE}` ORDER BY version")
    assert [r[0] for r in versions.result_rows] == [1, 2]

    # an old-style payer, then an event as a model that has the column would write it
    with Session(engine, expire_on_commit=False) as session:
        old = Payer(id=uuid.uuid4(), name="Old", kind="commercial")
        session.add(old)
        session.commit()
        new_id = uuid.uuid4()
        session.execute(insert(OutboxEvent), [{
            "entity": "payers", "entity_id": str(new_id), "op": "upsert", "occurred_at": old.created_at,
            "payload": f'{{"id":"{new_id}","name":"New","kind":"medicare","edi_payer_id":null,"nickname":"Ace",'
                       f'"created_at":"{old.created_at.isoformat()}","updated_at":"{old.created_at.isoformat()}"}}'}])
        session.commit()
    _replicator(engine, raw, tables=extended).run()
    rows = dict(raw.client.query(f"SELECT id, nickname FROM `{raw.database}`.`payers` FINAL").result_rows)
    assert {uuid.UUID(str(k)): v for k, v in rows.items()} == {old.id: None, new_id: "Ace"}


def _payer_with_nickname() -> type:
    """The Payer model as it would be after a migration adds a column (on a private registry)."""

    class Private(DeclarativeBase):
        pass

    table = Payer.__table__.to_metadata(Private.metadata)
    table.append_column(sa.Column("nickname", sa.String(50), nullable=True))
    return type("PayerWithNickname", (Private,), {"__table__": table})


def test_prune_removes_only_replicated_events_and_seqs_never_repeat(store, raw):
    churn = Churn(seed=3)
    churn.run(store, 300)
    first_max = _max_seq(store)
    replicator = _replicator(store, raw)
    replicator.run(prune=True)
    assert outbox_count(store) == 0

    churn.run(store, 200)
    with store.connect() as conn:
        assert conn.scalar(text("SELECT min(seq) FROM outbox")) == first_max + 1  # AUTOINCREMENT / sequence
    replicator.run(prune=False)
    last = _max_seq(store)
    assert outbox_count(store) == last - first_max
    assert replicator.outbox.prune(upto=first_max + 100, chunk=7) == 100  # chunked, bounded by `upto`
    assert replicator.outbox.prune(upto=first_max) == 0
    assert replicator.prune() == last - first_max - 100  # up to the committed low-water mark
    assert outbox_count(store) == 0
    assert replication_status(store, raw.client, raw.database).position == last_seq(store)
    assert_replicated(store, raw.client, raw.database)  # raw keeps the history the outbox dropped


def test_a_follower_prunes_a_large_backlog_between_steps_not_before_them(store, raw):
    """New events are replicated while an old backlog is still being pruned (a bounded prune per step)."""
    churn = Churn(seed=5)
    churn.run(store, 300)
    replicator = _replicator(store, raw, prune_chunk=10, prune_chunks_per_step=1)
    replicator.run(prune=False)  # all replicated, nothing pruned: a 300-event prune backlog
    backlog_top = _max_seq(store)
    seen, stop = [], threading.Event()

    def on_step(result) -> None:
        seen.append(result.loaded)
        if len(seen) == 1:
            churn.run(store, 20)  # arrives while the backlog is being pruned
        elif result.loaded:
            with store.connect() as conn:
                left = conn.scalar(text("SELECT count(*) FROM outbox WHERE seq <= :top"), {"top": backlog_top})
            seen.append(("old rows left", left))
            stop.set()

    replicator.run(follow=True, prune=True, poll_interval=0.05, stop=stop, on_step=on_step)
    assert seen[0] == 0 and seen[-2] > 0, seen  # the new events went through ...
    assert seen[-1][1] > 0, seen  # ... before the old backlog was gone
    replicator.run(prune=True)  # one-shot: prunes the rest at once
    assert outbox_count(store) == 0
    assert_replicated(store, raw.client, raw.database)


# --- faults ------------------------------------------------------------------------------------

def test_kill_9_at_random_points_then_restart_loses_and_duplicates_nothing(sqlite_store, raw, tmp_path):
    """A follower (pruning, as in production) is SIGKILLed at random moments while 20k events are written."""
    url, engine = sqlite_store
    env = {**os.environ, "DATABASE_URL": url, "CLICKHOUSE_URL": raw.url, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "warehouse.replication", "--batch-size", "1000", "--raw-database", raw.database]
    log_path, rng = tmp_path / "replicator.log", random.Random(4)

    def position() -> int:
        try:
            return raw.client.command(f"SELECT max(position) FROM `{raw.database}`.`{STATE_TABLE}`") or 0
        except Exception:  # noqa: BLE001 - the first run has not created the table yet
            return 0

    written: list[int] = []
    writer = threading.Thread(target=lambda: written.append(Churn(seed=4).run(engine, 20_000, per_commit=2000)))
    writer.start()
    kills = 0
    with open(log_path, "ab") as log:
        while kills < 3 or (writer.is_alive() and kills < 6):
            start, deadline = position(), time.monotonic() + 10
            proc = subprocess.Popen([*cmd, "--follow", "--poll-interval", "0.05"], env=env, stdout=log, stderr=log)
            try:
                while position() == start and time.monotonic() < deadline:  # until it has committed something
                    assert proc.poll() is None, log_path.read_text()[-3000:]
                    time.sleep(0.2)
                time.sleep(rng.uniform(0, 0.3))  # then anywhere: reading, inserting, saving, pruning
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            kills += 1
        writer.join()
        final = subprocess.run(cmd, env=env, stdout=log, stderr=log, timeout=120)  # one-shot catch-up
    assert final.returncode == 0, log_path.read_text()[-3000:]
    assert written[0] >= 20_000 and kills >= 3

    counts = assert_replicated(engine, raw.client, raw.database)
    assert sum(counts.values()) > 1000
    status = subprocess.run([*cmd[:3], "--status", "--raw-database", raw.database], env=env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and "caught up" in status.stdout, status.stdout + status.stderr


@pytest.mark.postgres
def test_a_gap_held_by_a_younger_transaction_stays_open_on_postgres(pg_store, raw):
    """The race behind a lost event: transaction A takes its xid *after* B's but its seq *before*
    B's, and B commits first. A's xid is then above the snapshot's xmax (one past the highest
    completed xid), so a gap stamped with xmax closed while A was still running."""
    replicator = _replicator(pg_store, raw, batch_size=500)
    replicator.prepare()
    churn = Churn(7)
    with Session(pg_store) as older, Session(pg_store) as younger:
        older.execute(text("SELECT pg_current_xact_id()"))  # B's xid first...
        younger.execute(text("SELECT pg_current_xact_id()"))
        younger.add(Facility(id=uuid.uuid4(), **churn.row(Facility.__table__)))
        younger.flush()  # ...A's seq first
        older.add(Facility(id=uuid.uuid4(), **churn.row(Facility.__table__)))
        older.flush()
        older.commit()
        for _ in range(3):
            replicator.step()
        assert replicator.state.gaps, "the gap closed while its transaction was still running"
        younger.commit()
    replicator.run()
    assert replicator.state.gaps == () and replicator.state.position == _max_seq(pg_store)
    assert assert_replicated(pg_store, raw.client, raw.database)["facilities"] == 2


@pytest.mark.postgres
def test_out_of_order_commits_on_postgres_are_not_lost(pg_store, raw):
    replicator = Replicator(pg_store, get_client(url=raw.url), database=raw.database, batch_size=500)  # own thread
    late: list[int] = []
    read_gaps = replicator.outbox.read_gaps

    def spy(gaps):
        found = read_gaps(gaps)
        late.extend(e[0] for e in found)
        return found

    replicator.outbox.read_gaps = spy
    replicator.prepare()  # the raw schema exists before the writers start
    stop = threading.Event()
    follower = threading.Thread(target=replicator.run, kwargs={"follow": True, "poll_interval": 0.02, "stop": stop})
    follower.start()

    def write(session: Session, churn: Churn) -> int:
        for cls in (Facility, Payer):
            session.add(cls(id=uuid.uuid4(), **churn.row(cls.__table__)))
        session.flush()  # the seqs are taken now; the commit comes later
        return session.scalar(text("SELECT max(seq) FROM outbox"))

    def holder() -> None:
        """Commits only after the replicator has read a higher seq: a guaranteed late event."""
        with Session(pg_store) as session:
            mine = write(session, Churn(100))
            _wait(lambda: replicator.state and replicator.state.high_water > mine, 20, "a later commit to be read")
            session.commit()

    def writer(seed: int) -> None:
        churn, rng = Churn(seed), random.Random(seed)
        for _ in range(20):
            with Session(pg_store) as session:
                write(session, churn)
                time.sleep(rng.uniform(0, 0.05))
                if rng.random() < 0.15:
                    session.rollback()
                else:
                    session.commit()

    try:
        with ThreadPoolExecutor(7) as pool:
            for done in [pool.submit(holder)] + [pool.submit(writer, seed) for seed in range(6)]:
                done.result()  # re-raises a writer's failure
        _wait(lambda: replication_status(pg_store, raw.client, raw.database).pending_events == 0, 20, "catch-up")
        assert_replicated(pg_store, raw.client, raw.database)
        assert late, "no event committed below high water: the scenario did not happen"
        # Rolled-back seqs close once no transaction that could own them runs. The snapshot xmin is
        # cluster-wide, so on a shared server another client's long write may still hold one open:
        # then it must be that transaction, not the replicator, that holds it.
        try:
            _wait(lambda: replicator.state and replicator.state.position == _max_seq(pg_store), 20, "gaps to close")
        except AssertionError:
            floor = replicator.outbox.horizon().floor
            assert all(floor < gap.token for gap in replicator.state.gaps), "gap held with no possible owner"
    finally:
        stop.set()
        follower.join(10)


def test_warehouse_outage_during_writes_is_caught_up_after_restart(sqlite_store, tmp_path, caplog):
    _url, engine = sqlite_store
    data_dir = tmp_path / "warehouse"
    server = start_server(data_dir, user=TEST_USER, password=TEST_PASSWORD)
    client = get_client(url=_ch_url(server.host, server.port))
    replicator = Replicator(engine, get_client(url=_ch_url(server.host, server.port)))  # its own: another thread
    stop = threading.Event()
    follower = threading.Thread(target=replicator.run, kwargs={
        "follow": True, "poll_interval": 0.02, "backoff_max": 0.5, "stop": stop})
    follower.start()
    churn = Churn(seed=6)
    try:
        churn.run(engine, 300)
        _wait(lambda: replication_status(engine, client).pending_events == 0, 20, "first catch-up")
        server.stop()

        churn.run(engine, 600)  # the operational store does not notice the warehouse is gone
        down = replication_status(engine, client)
        assert down.warehouse_error and down.pending_events is None
        _wait(lambda: "replication attempt failed" in caplog.text, 10, "the replicator to notice")

        server = start_server(data_dir, port=server.port, user=TEST_USER, password=TEST_PASSWORD)
        _wait(lambda: replication_status(engine, client).pending_events == 0, 30, "catch-up after restart")
        assert_replicated(engine, client, "raw")
    finally:
        stop.set()
        follower.join(10)
        server.stop()
