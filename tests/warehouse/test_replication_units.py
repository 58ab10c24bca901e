"""Replication logic that needs no server: gap tracking, row versioning, the model → ClickHouse type map."""

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ops_api.models import Claim, EncounterLine, FeeSchedule, Patient, ProviderSchedule, Provider
from warehouse.raw_schema import RawColumn, RawTable, clickhouse_type, plan, raw_tables, table_for_model
from warehouse.replication.load import versioned_row
from warehouse.replication.state import Gap, Horizon, ReplicationState, advance

NOW = datetime(2025, 1, 1, tzinfo=UTC)
PG_BEFORE, PG_AFTER = Horizon(floor=100, token=105), Horizon(floor=100, token=110)
SQLITE = Horizon(floor=2**63 - 1, token=0)


def test_in_order_events_move_position_to_high_water():
    state = advance(ReplicationState(), [1, 2, 3], [], SQLITE, SQLITE, NOW, 0)
    assert (state.position, state.high_water, state.gaps, state.revision) == (3, 3, (), 1)


def test_postgres_gap_waits_for_in_flight_transactions_then_loads_late_commit():
    # seq 2 and 4-5 were taken by transactions that had not committed when 3 and 6 were read
    state = advance(ReplicationState(), [1, 3, 6], [], PG_BEFORE, PG_AFTER, NOW, 0)
    assert state.position == 1 and state.high_water == 6
    assert [(g.lo, g.hi, g.token) for g in state.gaps] == [(2, 2, 110), (4, 5, 110)]
    # later: 4 committed; the others' transactions may still run (floor below the token)
    state = advance(state, [7], [4], Horizon(109, 111), Horizon(109, 111), NOW, 0)
    assert state.position == 1 and [(g.lo, g.hi) for g in state.gaps] == [(2, 2), (5, 5)]
    assert state.high_water == 7 and state.events_loaded == 5
    # 2 commits too, 5 stays open: the low-water mark stops just below it
    state = advance(state, [], [2], Horizon(109, 111), Horizon(109, 111), NOW, 0)
    assert state.position == 4 and [(g.lo, g.hi) for g in state.gaps] == [(5, 5)]


def test_postgres_gap_closes_once_every_possible_owner_has_ended():
    state = advance(ReplicationState(), [1, 3], [], PG_BEFORE, PG_AFTER, NOW, 0)
    still_open = advance(state, [], [], Horizon(109, 120), Horizon(109, 120), NOW + timedelta(hours=1), 0)
    assert still_open.position == 1  # no timeout on PostgreSQL: only the horizon closes a gap
    closed = advance(state, [], [], Horizon(110, 120), Horizon(110, 120), NOW, 0)
    assert closed.position == 3 and closed.gaps == ()


def test_sqlite_gaps_are_never_in_flight():
    state = advance(ReplicationState(high_water=10, position=10), [14, 15], [], SQLITE, SQLITE, NOW, 0)
    assert (state.position, state.gaps) == (15, ())


def test_unknown_store_falls_back_to_gap_timeout():
    unknown = Horizon(None)
    state = advance(ReplicationState(), [1, 3], [], unknown, unknown, NOW, 30)
    assert state.position == 1
    assert advance(state, [], [], unknown, unknown, NOW + timedelta(seconds=29), 30).position == 1
    assert advance(state, [], [], unknown, unknown, NOW + timedelta(seconds=30), 30).position == 3


def test_found_seqs_split_a_wide_gap():
    state = ReplicationState(position=0, high_water=100, gaps=(Gap(1, 99, 50, NOW),))
    state = advance(state, [], [1, 10, 11, 99], Horizon(10, 60), Horizon(10, 60), NOW, 0)
    assert [(g.lo, g.hi) for g in state.gaps] == [(2, 9), (12, 98)]
    assert state.position == 1


@pytest.mark.parametrize("payload", ['{"id":"a","n":1}', '{"id":"a"} ', "{}"])
@pytest.mark.parametrize("op", ["upsert", "delete"])
def test_versioned_row_is_the_payload_plus_bookkeeping(payload, op):
    row = json.loads(versioned_row(42, op, payload))
    assert row == {**json.loads(payload), "_version": 42, "_deleted": int(op == "delete")}


@pytest.mark.parametrize(("model", "column", "expected"), [
    (Claim, "id", "UUID"),
    (Claim, "total_charge", "Decimal(18, 2)"),
    (Claim, "allowed_amount", "Nullable(Decimal(18, 2))"),
    (Claim, "submitted_at", "Nullable(DateTime64(6, 'UTC'))"),
    (Claim, "status", "LowCardinality(String)"),
    (Claim, "payer_id", "Nullable(UUID)"),
    (Claim, "denial_remark_codes", "Array(String)"),  # nullable list: ClickHouse has no Nullable(Array)
    (EncounterLine, "diagnosis_pointers", "Array(Int32)"),
    (EncounterLine, "units", "Int32"),
    (Patient, "date_of_birth", "Date32"),
    (Patient, "address", "Nullable(String)"),
    (ProviderSchedule, "start_time", "String"),
    (Provider, "active", "Bool"),
    (FeeSchedule, "work_rvu", "Decimal(9, 2)"),
])
def test_model_columns_map_to_clickhouse_types(model, column, expected):
    assert {c.name: c.type for c in table_for_model(model).columns}[column] == expected


def test_every_replicated_table_has_id_first():
    tables = raw_tables()
    assert "claims" in tables and "users" not in tables  # credentials never leave the operational store
    assert all(t.columns[0] == RawColumn("id", "UUID") for t in tables.values())


def test_unknown_column_type_is_refused():
    col = sa.Column("blob", sa.LargeBinary)
    sa.Table("t", sa.MetaData(), col)
    with pytest.raises(TypeError, match="t.blob"):
        clickhouse_type(col)


def test_plan_adds_only_missing_tables_and_columns(caplog):
    table = RawTable("things", (RawColumn("id", "UUID"), RawColumn("n", "Nullable(Int32)")))
    bookkeeping = {"_schema_migrations": {}, "_replication_state": {}}
    assert plan({**bookkeeping, "things": {"id": "UUID", "n": "Nullable(Int32)"}}, {"things": table}, "r") == []
    create = plan(bookkeeping, {"things": table}, "r")
    assert len(create) == 1 and "ReplacingMergeTree(_version, _deleted)" in create[0]
    assert plan({**bookkeeping, "things": {"id": "UUID"}}, {"things": table}, "r") == [
        "ALTER TABLE `r`.`things` ADD COLUMN IF NOT EXISTS `n` Nullable(Int32)"]
    with caplog.at_level(logging.WARNING):
        assert plan({**bookkeeping, "things": {"id": "UUID", "n": "String"}}, {"things": table}, "r") == []
    assert "left unchanged" in caplog.text


def test_plan_adds_the_replicated_at_index_once():
    table = RawTable("things", (RawColumn("id", "UUID"),))
    assert "INDEX `replicated_at_minmax` _replicated_at TYPE minmax" in table.create_sql("r")
    existing = {"_schema_migrations": {}, "_replication_state": {}, "things": {"id": "UUID"}}
    assert plan(existing, {"things": table}, "r", {}) == [
        "ALTER TABLE `r`.`things` ADD INDEX IF NOT EXISTS `replicated_at_minmax` _replicated_at TYPE minmax GRANULARITY 1",
        "ALTER TABLE `r`.`things` MATERIALIZE INDEX `replicated_at_minmax`"]
    assert plan(existing, {"things": table}, "r", {"things": {"replicated_at_minmax"}}) == []
