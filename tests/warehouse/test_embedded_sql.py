"""The lexing that routes requests: where inline INSERT data starts, FORMAT clauses, statement kinds."""

import pytest

from warehouse.embedded.sql import NeedMore, analyze, split_inline_insert

pytestmark = pytest.mark.warehouse

FORMATS = {name.lower(): name for name in ("TabSeparated", "TSV", "JSON", "JSONEachRow", "Native", "CSV", "Values")}


@pytest.mark.parametrize(
    ("text", "header", "fmt", "data"),
    [
        ("INSERT INTO t FORMAT CSV\n1,2\n", "INSERT INTO t", "CSV", "1,2\n"),
        ("INSERT INTO t (a, b) FORMAT Native\n\x02\x00", "INSERT INTO t (a, b)", "Native", "\x02\x00"),
        ("insert into t format JSONEachRow {\"a\": 1}", "insert into t", "JSONEachRow", "{\"a\": 1}"),
        ("INSERT INTO t FORMAT TSV  \r\n\n1\n", "INSERT INTO t", "TSV", "\n1\n"),
        ("INSERT INTO t VALUES (1, 'FORMAT x')", "INSERT INTO t", "Values", " (1, 'FORMAT x')"),
        ("INSERT INTO `FORMAT` SETTINGS a=1 FORMAT CSV\n1", "INSERT INTO `FORMAT` SETTINGS a=1", "CSV", "1"),
        ("/* c */ INSERT INTO f('a FORMAT b') -- FORMAT x\nFORMAT RowBinary\n\x00", "/* c */ INSERT INTO f('a FORMAT b') -- FORMAT x", "RowBinary", "\x00"),
    ],
)
def test_inline_insert_split(text, header, fmt, data):
    insert = split_inline_insert(text, complete=True)
    assert (insert.header, insert.format, text[insert.data_start :]) == (header, fmt, data)


@pytest.mark.parametrize(
    "text",
    ["SELECT 1", "INSERT INTO t SELECT * FROM s", "INSERT INTO t WITH 1 AS x SELECT x", "CREATE TABLE t (a Int8) ENGINE=Memory", ""],
)
def test_statements_without_inline_data(text):
    assert split_inline_insert(text, complete=True) is None


@pytest.mark.parametrize("partial", ["INSERT INTO t", "INSERT INTO t FORMAT", "INSERT INTO t FORMAT CSV", "INSERT INTO 't"])
def test_incomplete_insert_header_asks_for_more(partial):
    with pytest.raises(NeedMore):
        split_inline_insert(partial, complete=False)


@pytest.mark.parametrize(
    ("text", "keyword", "fmt", "returns", "streamable"),
    [
        ("SELECT 1", "SELECT", None, True, True),
        ("select format from t FORMAT JSON", "SELECT", "JSON", True, True),
        ("SELECT (SELECT 1 FORMAT CSV) FORMAT tsv", "SELECT", "TSV", True, True),
        ("(SELECT 1)", "(", None, True, True),
        ("WITH 1 AS x SELECT x", "WITH", None, True, True),
        ("SHOW TABLES", "SHOW", None, True, False),
        ("CREATE TABLE t (a Int8) ENGINE = Memory", "CREATE", None, False, False),
        ("INSERT INTO t SELECT 1", "INSERT", None, False, False),
        ("-- comment\nDESCRIBE t", "DESCRIBE", None, True, False),
    ],
)
def test_analyze(text, keyword, fmt, returns, streamable):
    statement = analyze(text, FORMATS)
    assert (statement.keyword, statement.format, statement.returns_result, statement.streamable) == (keyword, fmt, returns, streamable)
    assert not statement.multi


def test_multi_statements_and_session_changes():
    assert analyze("SELECT 1; SELECT 2", FORMATS).multi
    assert not analyze("SELECT ';'; -- trailing\n", FORMATS).multi
    assert analyze("CREATE TEMPORARY TABLE x (a Int8)", FORMATS).changes_session
    assert analyze("SET max_threads = 1", FORMATS).changes_session
    assert not analyze("CREATE TABLE x (a Int8) ENGINE = Memory", FORMATS).changes_session
