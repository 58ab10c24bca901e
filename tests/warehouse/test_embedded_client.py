"""clickhouse-connect against the server: every column type the marts use, sessions, settings, params."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from warehouse.client import client_kwargs, get_client

pytestmark = pytest.mark.warehouse

UTC = dt.UTC
COLUMNS = {
    "id": "UUID",
    "s": "String",
    "lc": "LowCardinality(String)",
    "d": "Date",
    "d32": "Date32",
    "ts": "DateTime64(3, 'UTC')",
    "amount": "Decimal(18, 2)",
    "i32": "Int32",
    "i64": "Int64",
    "u8": "UInt8",
    "u64": "UInt64",
    "f64": "Float64",
    "flag": "Bool",
    "tags": "Array(String)",
}
NULLABLE = {f"n_{name}": f"Nullable({kind})" for name, kind in COLUMNS.items() if not kind.startswith(("Array", "LowCardinality"))}
NULLABLE["n_lc"] = "LowCardinality(Nullable(String))"
ALL = {**COLUMNS, **NULLABLE}

ROWS = [
    {
        "id": uuid.UUID("7d9f1c52-3b7e-4a1a-9d55-0c1e2f3a4b5c"),
        "s": "héllo\t\"quoted\"\n\\ 'x'",
        "lc": "denied",
        "d": dt.date(2024, 2, 29),
        "d32": dt.date(1900, 1, 1),
        "ts": dt.datetime(2024, 3, 1, 12, 34, 56, 789000, tzinfo=UTC),
        "amount": Decimal("12345678901234.56"),
        "i32": -(2**31),
        "i64": 2**63 - 1,
        "u8": 255,
        "u64": 2**64 - 1,
        "f64": 0.1,
        "flag": True,
        "tags": ["a", "", "x'y"],
    },
    {
        "id": uuid.UUID(int=0),
        "s": "",
        "lc": "paid",
        "d": dt.date(1970, 1, 1),
        "d32": dt.date(2299, 12, 31),
        "ts": dt.datetime(1999, 12, 31, 23, 59, 59, 1000, tzinfo=UTC),
        "amount": Decimal("-0.01"),
        "i32": 2**31 - 1,
        "i64": -(2**63),
        "u8": 0,
        "u64": 0,
        "f64": -1.5e300,
        "flag": False,
        "tags": [],
    },
]
for row in ROWS[:1]:
    row.update({f"n_{name}": row[name] for name in COLUMNS if f"n_{name}" in NULLABLE})
for row in ROWS[1:]:
    row.update(dict.fromkeys(NULLABLE))


def _create(client, table: str) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in ALL.items())
    client.command(f"CREATE TABLE {table} ({columns}) ENGINE = MergeTree ORDER BY tuple()")


def _normal(value):
    """clickhouse-connect returns naive UTC datetimes for UTC columns by default."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _expected():
    return [tuple(row[name] for name in ALL) for row in ROWS]


def test_insert_and_query_round_trip_every_mart_type(client):
    _create(client, "all_types")
    summary = client.insert("all_types", [list(row[name] for name in ALL) for row in ROWS], column_names=list(ALL))
    assert summary.written_rows == 2
    got = client.query("SELECT * FROM all_types ORDER BY i32").result_rows
    assert [tuple(_normal(v) for v in r) for r in got] == _expected()
    assert isinstance(got[0][list(ALL).index("amount")], Decimal)
    types = dict(client.query("SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'all_types'").result_rows)
    assert types["ts"] == "DateTime64(3, 'UTC')" and types["n_amount"] == "Nullable(Decimal(18, 2))"


def test_query_df_and_insert_df_round_trip(client):
    _create(client, "all_types")
    client.insert("all_types", [list(row[name] for name in ALL) for row in ROWS], column_names=list(ALL))
    df = client.query_df("SELECT * FROM all_types ORDER BY i32")
    assert list(df.columns) == list(ALL)
    assert df["amount"].tolist() == [Decimal("12345678901234.56"), Decimal("-0.01")]
    assert df["u64"].tolist() == [2**64 - 1, 0]
    assert df["tags"].tolist() == [["a", "", "x'y"], []]
    assert pd.isna(df["n_amount"].iloc[1]) and df["n_amount"].iloc[0] == Decimal("12345678901234.56")
    _create(client, "copy")
    client.insert_df("copy", df)
    assert client.query("SELECT * FROM copy ORDER BY i32").result_rows == client.query("SELECT * FROM all_types ORDER BY i32").result_rows


def test_query_arrow_round_trip(client):
    _create(client, "all_types")
    client.insert("all_types", [list(row[name] for name in ALL) for row in ROWS], column_names=list(ALL))
    table = client.query_arrow("SELECT * FROM all_types ORDER BY i32")
    assert table.schema.field("amount").type == pa.decimal128(18, 2)
    assert table.column("amount").to_pylist() == [Decimal("12345678901234.56"), Decimal("-0.01")]
    assert table.column("n_i64").to_pylist() == [2**63 - 1, None]
    assert table.column("tags").to_pylist() == [["a", "", "x'y"], []]
    assert table.column("flag").to_pylist() == [True, False]
    _create(client, "copy")
    client.insert_arrow("copy", client.query_arrow("SELECT * FROM all_types"))
    assert client.command("SELECT count() FROM copy WHERE amount = toDecimal64('-0.01', 2)") == 1


def test_command_returns_values_and_summaries(client):
    assert client.command("SELECT 42") == 42
    assert client.command("SELECT 'a', 2") == ["a", "2"]
    assert client.command("SELECT toDecimal64('1.25', 2)") == "1.25"
    assert client.command("SELECT 1 WHERE 0") == ""  # a result with no rows is still a result
    summary = client.command("CREATE TABLE t (a UInt8) ENGINE = Memory")
    assert summary.written_rows == 0
    summary = client.command("INSERT INTO t SELECT number FROM numbers(7)")
    assert summary.written_rows == 7


def test_bound_parameters(client):
    got = client.query(
        "SELECT {s:String}, {n:Int64} + 1, {d:Date}, {amount:Decimal(18, 2)}, {ids:Array(String)}",
        parameters={"s": "tab\there 'q' \\", "n": 41, "d": dt.date(2024, 1, 2), "amount": Decimal("9.99"), "ids": ["a", "b"]},
    ).result_rows
    assert got == [("tab\there 'q' \\", 42, dt.date(2024, 1, 2), Decimal("9.99"), ["a", "b"])]
    # large parameter payloads go as multipart/form-data
    big = "x" * 10_000
    assert client.command("SELECT length({big:String})", parameters={"big": big}) == 10_000


def test_session_keeps_set_use_and_temporary_tables(target, database):
    session = target.client(session_id=f"s-{uuid.uuid4()}")
    other = target.client(session_id=f"s-{uuid.uuid4()}")
    session.command("CREATE TEMPORARY TABLE scratch (a UInt8)")
    session.command("INSERT INTO scratch VALUES (1), (2)")
    assert session.command("SELECT sum(a) FROM scratch") == 3
    with pytest.raises(DatabaseError, match="UNKNOWN_TABLE"):
        other.command("SELECT count() FROM scratch")
    session.command("SET max_block_size = 4321")
    assert session.command("SELECT getSetting('max_block_size')") == 4321
    assert other.command("SELECT getSetting('max_block_size')") != 4321
    session.command(f"USE {database}")
    assert session.command("SELECT currentDatabase()") == database
    assert other.command("SELECT currentDatabase()") == "default"


def test_request_settings_do_not_stick(target):
    ch = target.client(session_id=f"s-{uuid.uuid4()}")
    assert ch.command("SELECT getSetting('max_block_size')", settings={"max_block_size": 1234}) == 1234
    default = ch.command("SELECT getSetting('max_block_size')")
    assert default != 1234
    ch.command("SET max_block_size = 777")  # a session SET persists ...
    assert ch.command("SELECT getSetting('max_block_size')", settings={"max_block_size": 1234}) == 1234
    assert ch.command("SELECT getSetting('max_block_size')") == 777  # ... and request settings don't override it
    sessionless = target.client(autogenerate_session_id=False)
    assert sessionless.command("SELECT getSetting('max_block_size')", settings={"max_block_size": 4321}) == 4321
    for _ in range(10):  # pooled handles must not keep the previous request's settings
        assert sessionless.command("SELECT getSetting('max_block_size')") == default


def test_errors_carry_clickhouse_codes(client):
    with pytest.raises(DatabaseError) as info:
        client.query("SELECT * FROM no_such_table")
    assert info.value.code == 60 and "UNKNOWN_TABLE" in str(info.value)
    with pytest.raises(DatabaseError) as info:
        client.command("SELEKT 1")
    assert info.value.code == 62
    client.command("CREATE TABLE t (a UInt8) ENGINE = Memory")
    with pytest.raises(DatabaseError) as info:
        client.raw_insert("t", ["a"], insert_block="1\nnot a number\n", fmt="CSV")
    assert info.value.code in (6, 27, 72, 117)  # CANNOT_PARSE_* or INCORRECT_DATA
    assert client.command("SELECT count() FROM t") == 0
    assert client.raw_insert("t", ["a"], insert_block="1\n2\n", fmt="CSV").written_rows == 2


@pytest.mark.parametrize("compress", ["lz4", "zstd", "gzip", False])
def test_client_compression_both_directions(target, database, compress):
    ch = target.client(database=database, compress=compress)
    ch.command("CREATE TABLE t (a UInt64, s String) ENGINE = MergeTree ORDER BY a")
    rows = [[i, f"row {i}" * 3] for i in range(50_000)]
    assert ch.insert("t", rows, column_names=["a", "s"]).written_rows == 50_000
    assert ch.query("SELECT a, s FROM t ORDER BY a").result_rows == [tuple(r) for r in rows]
    assert ch.command("SELECT sum(a) FROM t") == sum(range(50_000))


def test_error_in_the_middle_of_a_stream_raises(client):
    sql = "SELECT number, repeat('x', 100), throwIf(number = 200000, 'late boom') FROM numbers(300000)"
    with pytest.raises(DatabaseError, match="late boom"):
        with client.query_row_block_stream(sql, settings={"max_block_size": 1000}) as stream:
            for _ in stream:
                pass
    assert client.command("SELECT 1") == 1


def test_streaming_a_large_result(client):
    total = 0
    with client.query_row_block_stream("SELECT number, toString(number) FROM numbers(1000000)") as stream:
        for block in stream:
            total += sum(row[0] for row in block)
    assert total == sum(range(1_000_000))


def test_get_client_builds_on_the_configured_url(target, database):
    kwargs = client_kwargs("https://ana:p%40ss@ch.example:9443/marts?max_threads=2&compress=lz4")
    assert kwargs == {
        "interface": "https", "host": "ch.example", "port": 9443, "username": "ana", "password": "p@ss",
        "database": "marts", "compress": "lz4", "settings": {"max_threads": "2"},
    }
    url = f"http://{quote(target.user)}:{quote(target.password)}@{target.host}:{target.port}/{database}"
    ch = get_client(url=url, settings={"max_block_size": 999})
    assert ch.command("SELECT currentDatabase(), getSetting('max_block_size')") == [database, "999"]
