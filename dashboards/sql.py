"""The analyst SQL page's engine: read-only SELECT/WITH on ``marts.*`` and ``ml.*``, with server limits.

Two independent locks. First, ClickHouse parses the statement (``EXPLAIN AST``) and the tree must be
a single SELECT whose every table is in ``marts`` or ``ml`` (or a CTE / unqualified name, which the
client's default database ``marts`` resolves), with no table functions (``url``, ``file``, ``remote``...),
no file-reading functions, and no SETTINGS / FORMAT / INTO OUTFILE clauses of its own. Second,
the query runs with ``readonly=1``, ``max_execution_time`` and ``max_result_rows`` set per query, so
even a statement that slipped past the first lock could neither write nor run away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from dashboards.config import get_dashboard_settings
from pms.settings import get_settings
from warehouse.client import get_client

ALLOWED_DATABASES = frozenset({"marts", "ml"})
DENIED_FUNCTIONS = re.compile(r"^(file|url|dictget\w*|dicthas|joinget\w*|getsetting|currentprofiles|"
                              r"filesystem\w*|getmacro|hostname|getserverport|uptime)$", re.IGNORECASE)
_EXPLAIN_FORMAT = "TabSeparatedRaw"
_LEADING = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*(\w+)", re.DOTALL)


class RejectedQuery(ValueError):
    """The statement is not a read-only query over the marts; the message says why."""


@dataclass(frozen=True)
class Result:
    frame: pd.DataFrame
    truncated: bool
    elapsed_ms: float
    rows_read: int


@st.cache_resource(show_spinner=False)
def _client(url: str) -> Client:
    settings = get_dashboard_settings()
    return get_client(url=url, database="marts", autogenerate_session_id=False,
                      send_receive_timeout=settings.dashboards_sql_max_seconds + 10)


def client() -> Client:
    return _client(get_settings().clickhouse_url)


def check(sql: str, ch: Client) -> str:
    """The statement, stripped of a trailing semicolon, if it passes the first lock; else RejectedQuery."""
    statement = sql.strip().rstrip(";").strip()
    if not statement:
        raise RejectedQuery("Enter a query.")
    match = _LEADING.match(statement)
    if not match or match.group(1).lower() not in ("select", "with"):
        raise RejectedQuery("Only SELECT or WITH queries run here.")
    try:
        tree = ch.raw_query(f"EXPLAIN AST {statement}\nFORMAT {_EXPLAIN_FORMAT}").decode()
    except ClickHouseError as exc:
        raise RejectedQuery(f"ClickHouse cannot parse the query: {_server_message(exc)}") from None
    lines = [line for line in tree.splitlines() if line.strip()]
    root_children = [line for line in lines if line.startswith(" ") and not line.startswith("  ")]
    if not lines or not lines[0].startswith("SelectWithUnionQuery") or len(root_children) != 2:
        raise RejectedQuery("Only a single SELECT runs here (no FORMAT, INTO OUTFILE or other clauses).")
    previous = ""
    for line in lines:
        node, _, arg = line.strip().partition(" ")
        arg = arg.split(" (children")[0].strip()
        if node == "Set":
            raise RejectedQuery("SETTINGS clauses are not allowed; the page sets the limits.")
        if node == "TableIdentifier" and "." in arg:
            database = arg.split(".", 1)[0].strip("`\"")
            if database not in ALLOWED_DATABASES:
                raise RejectedQuery(f"Only the marts and ml databases can be read, not {database!r}.")
        if node == "Function" and previous == "TableExpression":
            raise RejectedQuery(f"Table functions such as {arg}() are not allowed; query marts.* or ml.* tables.")
        if node == "Function" and DENIED_FUNCTIONS.match(arg):
            raise RejectedQuery(f"The function {arg}() is not allowed here.")
        previous = node
    return statement


def run(sql: str) -> Result:
    """Check, then run with readonly=1 and the row and time limits; at most max rows come back."""
    settings = get_dashboard_settings()
    ch = client()
    statement = check(sql, ch)
    limit = settings.dashboards_sql_max_rows
    try:
        result = ch.query(statement, settings={  # readonly last: the limits are set before it locks settings
            "max_execution_time": settings.dashboards_sql_max_seconds,
            "max_result_rows": limit + 1,
            "result_overflow_mode": "break",
            "readonly": 1,
        })
    except ClickHouseError as exc:
        raise RejectedQuery(_server_message(exc)) from None
    rows = result.result_rows
    frame = pd.DataFrame(rows[:limit], columns=result.column_names)
    summary = result.summary or {}
    return Result(frame=frame, truncated=len(rows) > limit,
                  elapsed_ms=int(summary.get("elapsed_ns", 0)) / 1e6, rows_read=int(summary.get("read_rows", 0)))


def _server_message(exc: Exception) -> str:
    text = str(exc)
    match = re.search(r"DB::Exception: (.*?)(?: \(version [\d.]+\))?(?: \(for url .*)?$", text, re.DOTALL)
    return (match.group(1) if match else text).strip()[:500]
