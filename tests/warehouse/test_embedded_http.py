"""ClickHouse's HTTP interface at the protocol level: what every client relies on, byte for byte."""

from __future__ import annotations

import gzip
import json
import re
import time
import uuid
import zlib

import lz4.frame
import pytest
import zstandard

pytestmark = pytest.mark.warehouse

ERROR_BODY = re.compile(r"^Code: (\d+)\. DB::Exception: .*\(([A-Z_]+)\)(?: \(version [\w.]+\))?\n?$", re.S)


@pytest.fixture
def http(target):
    with target.http() as session:
        yield session


def _error(response) -> tuple[int, str]:
    match = ERROR_BODY.match(response.text)
    assert match, response.text
    assert response.headers["X-ClickHouse-Exception-Code"] == match.group(1)
    return int(match.group(1)), match.group(2)


def test_health_checks(target):
    with target.http(auth=False) as anonymous:
        assert anonymous.get("/ping").text == "Ok.\n"
        assert anonymous.get("/").text == "Ok.\n"
        assert anonymous.head("/ping").status_code == 200


def test_query_in_url_in_body_and_split_between_them(http):
    assert http.get("/", params={"query": "SELECT 1"}).text == "1\n"
    assert http.post("/", content=b"SELECT 2").text == "2\n"
    # ClickHouse joins the URL part and the body with a newline
    assert http.post("/", params={"query": "SELECT"}, content=b"40 + 2").text == "42\n"


def test_formats_and_format_headers(http):
    plain = http.post("/", content=b"SELECT 1 AS x")
    assert plain.headers["X-ClickHouse-Format"] == "TabSeparated"
    assert plain.headers["Content-Type"].startswith("text/tab-separated-values")
    as_json = http.post("/", params={"default_format": "JSONEachRow"}, content=b"SELECT 1 AS x")
    assert (as_json.text, as_json.headers["X-ClickHouse-Format"]) == ('{"x":1}\n', "JSONEachRow")
    clause = http.post("/", params={"default_format": "JSONEachRow"}, content=b"SELECT 1 AS x, 'a' AS y FORMAT CSV")
    assert (clause.text, clause.headers["X-ClickHouse-Format"]) == ('1,"a"\n', "CSV")
    whole = http.post("/", content=b"SELECT number FROM numbers(3) FORMAT JSON")
    assert [int(row["number"]) for row in json.loads(whole.text)["data"]] == [0, 1, 2]  # quoting is a setting
    # a result with no rows is still a result; statements without one have no format header
    assert http.post("/", content=b"SELECT 1 WHERE 0").headers["X-ClickHouse-Format"] == "TabSeparated"
    table = f"t_{uuid.uuid4().hex}"
    for statement in (f"CREATE TABLE {table} (a UInt8) ENGINE = Memory", f"INSERT INTO {table} VALUES (1)", f"DROP TABLE {table}"):
        response = http.post("/", content=statement.encode())
        assert response.status_code == 200 and response.text == ""
        assert "X-ClickHouse-Format" not in response.headers


def test_summary_query_id_and_timezone_headers(http):
    response = http.post("/", params={"query_id": "my-query-1"}, content=b"SELECT count() FROM numbers(1000)")
    summary = json.loads(response.headers["X-ClickHouse-Summary"])
    assert all(isinstance(value, str) for value in summary.values())
    assert summary["read_rows"] == "1000" and summary["written_rows"] == "0"
    assert response.headers["X-ClickHouse-Query-Id"] == "my-query-1"
    generated = http.post("/", content=b"SELECT 1").headers["X-ClickHouse-Query-Id"]
    assert generated and generated != "my-query-1"
    server_tz = http.post("/", content=b"SELECT timezone()").text.strip()
    assert response.headers["X-ClickHouse-Timezone"] == server_tz


def test_written_rows_of_insert_select(http):
    table = f"t_{uuid.uuid4().hex}"
    http.post("/", content=f"CREATE TABLE {table} (a UInt64) ENGINE = MergeTree ORDER BY a".encode())
    try:
        response = http.post("/", content=f"INSERT INTO {table} SELECT number FROM numbers(5)".encode())
        assert json.loads(response.headers["X-ClickHouse-Summary"])["written_rows"] == "5"
    finally:
        http.post("/", content=f"DROP TABLE {table}".encode())


@pytest.mark.parametrize(
    ("sql", "params", "status", "code", "name"),
    [
        ("SELECT * FROM no_such_table", {}, 404, 60, "UNKNOWN_TABLE"),
        ("SELEKT 1", {}, 400, 62, "SYNTAX_ERROR"),
        ("SELECT 1; SELECT 2", {}, 400, 62, "SYNTAX_ERROR"),
        ("SELECT 1", {"no_such_setting": "1"}, 404, 115, "UNKNOWN_SETTING"),
        ("SELECT 1", {"database": "no_such_db"}, 404, 81, "UNKNOWN_DATABASE"),
        ("SELECT throwIf(1, 'boom')", {}, 500, 395, "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO"),
        ("SELECT no_such_function()", {}, 404, 46, "UNKNOWN_FUNCTION"),
    ],
)
def test_error_responses(http, sql, params, status, code, name):
    response = http.post("/", params=params, content=sql.encode())
    assert response.status_code == status
    assert _error(response) == (code, name)


def test_get_is_read_only(http):
    response = http.get("/", params={"query": f"CREATE TABLE t_{uuid.uuid4().hex} (a UInt8) ENGINE = Memory"})
    assert _error(response) == (164, "READONLY")
    assert http.get("/", params={"query": "SELECT 1", "readonly": "1"}).text == "1\n"


def test_bound_parameters_in_url(http):
    response = http.post("/", params={"param_x": "21", "param_s": "a\\tb"}, content=b"SELECT {x:UInt8} * 2, {s:String}")
    assert response.text == "42\ta\\tb\n"


@pytest.fixture
def table(http):
    name = f"t_{uuid.uuid4().hex}"
    http.post("/", content=f"CREATE TABLE {name} (id UInt64, name String, amount Decimal(18, 2)) ENGINE = MergeTree ORDER BY id".encode())
    yield name
    http.post("/", content=f"DROP TABLE IF EXISTS {name}".encode())


def _source(rows: int) -> str:
    return f"SELECT number AS id, concat('n', toString(number)) AS name, toDecimal64(number, 2) / 100 AS amount FROM numbers({rows})"


def _source_rows(http, fmt: str, rows: int = 1000) -> bytes:
    return http.post("/", content=f"{_source(rows)} FORMAT {fmt}".encode()).content


def _check_rows(http, table: str, rows: int = 1000) -> None:
    check = "SELECT count(), sum(id), sum(amount), max(name), groupBitXor(cityHash64(id, name, amount)) FROM {}"
    got = http.post("/", content=check.format(table).encode()).text
    assert got.startswith(f"{rows}\t")
    assert got == http.post("/", content=check.format(f"({_source(rows)})").encode()).text


@pytest.mark.parametrize("fmt", ["TabSeparated", "CSV", "JSONEachRow", "Native", "RowBinary", "Values"])
@pytest.mark.parametrize("where", ["url", "body"])
def test_insert_bodies(http, table, fmt, where):
    data = _source_rows(http, fmt)
    statement = f"INSERT INTO {table} FORMAT {fmt}"
    if where == "url":
        response = http.post("/", params={"query": statement}, content=data)
    else:
        response = http.post("/", content=statement.encode() + b"\n" + data)
    assert response.status_code == 200, response.text
    assert json.loads(response.headers["X-ClickHouse-Summary"])["written_rows"] == "1000"
    assert "X-ClickHouse-Format" not in response.headers
    _check_rows(http, table)


def test_chunked_insert_body(http, table):
    data = _source_rows(http, "Native", rows=100_000)
    pieces = (data[i : i + 7777] for i in range(0, len(data), 7777))  # uneven pieces, sent chunked
    response = http.post("/", params={"query": f"INSERT INTO {table} FORMAT Native"}, content=pieces)
    assert response.status_code == 200, response.text
    _check_rows(http, table, rows=100_000)


def _frames(codec: str, data: bytes) -> bytes:
    """Compress the data as several concatenated frames, as clickhouse-connect does per block."""
    halves = [data[: len(data) // 2], data[len(data) // 2 :]]
    if codec == "gzip":
        return b"".join(gzip.compress(h) for h in halves)
    if codec == "deflate":
        return b"".join(zlib.compress(h) for h in halves)
    if codec == "lz4":
        return b"".join(lz4.frame.compress(h) for h in halves)
    return b"".join(zstandard.ZstdCompressor().compress(h) for h in halves)


@pytest.mark.parametrize("codec", ["gzip", "deflate", "lz4", "zstd"])
def test_compressed_request_bodies(http, table, codec):
    statement = f"INSERT INTO {table} FORMAT Native\n".encode()
    body = _frames(codec, statement + _source_rows(http, "Native"))
    response = http.post("/", content=body, headers={"Content-Encoding": codec})
    assert response.status_code == 200, response.text
    _check_rows(http, table)
    query = http.post("/", content=_frames(codec, b"SELECT 'compressed query'"), headers={"Content-Encoding": codec})
    assert query.text == "compressed query\n"


def _decompress(codec: str, data: bytes) -> bytes:
    if codec == "gzip":
        return gzip.decompress(data)
    if codec == "deflate":
        return zlib.decompress(data)
    if codec == "lz4":
        return lz4.frame.decompress(data)
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


@pytest.mark.parametrize("codec", ["gzip", "deflate", "lz4", "zstd"])
@pytest.mark.parametrize("rows", [10, 300_000])  # buffered and streamed responses
def test_compressed_responses(http, codec, rows):
    params = {"enable_http_compression": "1"}
    sql = f"SELECT number, toString(number) FROM numbers({rows})".encode()
    expected = "".join(f"{i}\t{i}\n" for i in range(rows)).encode()
    with http.stream("POST", "/", params=params, content=sql, headers={"Accept-Encoding": codec}) as response:
        assert response.headers["Content-Encoding"] == codec
        raw = b"".join(response.iter_raw())
    assert _decompress(codec, raw) == expected
    with http.stream("POST", "/", content=sql, headers={"Accept-Encoding": codec}) as response:
        assert "Content-Encoding" not in response.headers  # only with enable_http_compression=1
        assert b"".join(response.iter_raw()) == expected


def test_authentication(target):
    with target.http(auth=False) as anonymous:
        if target.password:
            response = anonymous.post("/", content=b"SELECT 1")
            assert response.status_code == 403 and _error(response) == (516, "AUTHENTICATION_FAILED")
        wrong_basic = anonymous.post("/", content=b"SELECT 1", auth=(target.user, "wrong"))
        assert wrong_basic.status_code == 403 and _error(wrong_basic)[0] == 516
        headers = {"X-ClickHouse-User": target.user, "X-ClickHouse-Key": target.password}
        assert anonymous.post("/", content=b"SELECT 1", headers=headers).text == "1\n"
        bad_headers = {"X-ClickHouse-User": target.user, "X-ClickHouse-Key": "wrong"}
        assert _error(anonymous.post("/", content=b"SELECT 1", headers=bad_headers))[0] == 516
        params = {"user": target.user, "password": target.password}
        assert anonymous.post("/", params=params, content=b"SELECT 1").text == "1\n"
        assert _error(anonymous.post("/", params={**params, "password": "wrong"}, content=b"SELECT 1"))[0] == 516
        assert _error(anonymous.post("/", params={**params, "user": "nobody"}, content=b"SELECT 1"))[0] == 516


def test_error_after_streaming_started_is_detectable(target, http):
    """An error after rows went out cannot change the status; it must be in-band, after the tag."""
    sql = b"SELECT repeat('x', 100), throwIf(number = 200000, 'late boom') FROM numbers(300000) SETTINGS max_block_size = 1000"
    response = http.post("/", content=sql)
    if target.embedded:
        assert response.status_code == 200  # 20 MB were sent before the error
    if response.status_code == 200:  # streamed: ClickHouse 25.11+ frames the error with the exception tag
        tag = response.headers["X-ClickHouse-Exception-Tag"]
        assert response.content.endswith(f" {tag}\r\n__exception__\r\n".encode())
        assert f"__exception__\r\n{tag}\r\nCode: 395.".encode() in response.content
    else:
        assert _error(response)[0] == 395


def test_session_check_and_sessionless_state(http):
    response = http.post("/", params={"session_id": f"missing-{uuid.uuid4()}", "session_check": "1"}, content=b"SELECT 1")
    assert _error(response) == (372, "SESSION_NOT_FOUND")
    assert http.post("/", content=b"SET max_block_size = 4321").status_code == 200
    for _ in range(10):  # a sessionless SET applies to nothing after it
        assert http.post("/", content=b"SELECT getSetting('max_block_size') = 4321").text == "0\n"


def test_idle_sessions_expire(http):
    session = {"session_id": f"s-{uuid.uuid4()}", "session_timeout": "1"}
    http.post("/", params=session, content=b"CREATE TEMPORARY TABLE scratch (a UInt8)")
    assert http.post("/", params={**session, "session_check": "1"}, content=b"SELECT count() FROM scratch").text == "0\n"
    time.sleep(2.5)
    expired = http.post("/", params={**session, "session_check": "1"}, content=b"SELECT 1")
    assert _error(expired) == (372, "SESSION_NOT_FOUND")
    closing = {"session_id": f"s-{uuid.uuid4()}", "close_session": "1"}
    assert http.post("/", params=closing, content=b"SELECT 1").text == "1\n"
    assert _error(http.post("/", params={**closing, "session_check": "1"}, content=b"SELECT 1"))[0] == 372


def test_native_compression_is_refused_clearly(target, http):
    if not target.embedded:
        pytest.skip("real servers implement compress=1")
    response = http.post("/", params={"compress": "1"}, content=b"SELECT 1")
    assert response.status_code == 501 and _error(response) == (48, "NOT_IMPLEMENTED")
