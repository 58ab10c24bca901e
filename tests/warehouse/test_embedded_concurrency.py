"""Concurrent clients: isolated results, no starvation, session locking, cancelling abandoned queries."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytestmark = pytest.mark.warehouse

SLOW = "SELECT sleepEachRow(0.25) FROM numbers({n}) SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0"


def test_eight_threads_get_their_own_results(target, database):
    def work(i: int) -> list[tuple]:
        ch = target.client(database=database, autogenerate_session_id=i % 2 == 0)  # sessions and the pool
        table = f"t{i}"
        ch.command(f"CREATE TABLE {table} (a UInt64) ENGINE = MergeTree ORDER BY a")
        seen = []
        for round_ in range(5):
            ch.insert(table, [[i * 1000 + round_]], column_names=["a"])
            total = ch.query(f"SELECT sum(number) + {i} FROM numbers({(i + 1) * 10_000})").result_rows[0][0]
            rows = ch.query(f"SELECT count(), max(a) FROM {table}", settings={"max_threads": i % 3 + 1}).result_rows[0]
            seen.append((total, rows))
        ch.close()
        return seen

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    for i, seen in enumerate(results):
        n = (i + 1) * 10_000
        assert seen == [(n * (n - 1) // 2 + i, (r + 1, i * 1000 + r)) for r in range(5)]


def test_ping_and_short_queries_answer_during_a_long_query(target):
    long_query = threading.Thread(target=lambda: target.client().command(SLOW.format(n=12)))
    long_query.start()
    try:
        time.sleep(0.3)
        with target.http() as http:
            for _ in range(5):
                started = time.perf_counter()
                assert http.get("/ping").text == "Ok.\n"
                assert http.post("/", content=b"SELECT 1").text == "1\n"
                assert time.perf_counter() - started < 1.0  # the long query takes 3 s
                time.sleep(0.1)
        assert long_query.is_alive()  # the checks above really overlapped the long query
    finally:
        long_query.join()


def test_concurrent_use_of_one_session_is_refused(target):
    session = {"session_id": f"s-{uuid.uuid4()}"}
    with target.http() as first, target.http() as second:
        slow = threading.Thread(target=lambda: first.post("/", params=session, content=SLOW.format(n=6).encode()))
        slow.start()
        time.sleep(0.4)
        response = second.post("/", params=session, content=b"SELECT 1")
        slow.join()
        assert response.headers["X-ClickHouse-Exception-Code"] == "373"  # SESSION_IS_LOCKED
        assert second.post("/", params=session, content=b"SELECT 1").text == "1\n"  # free again


def test_query_of_a_client_that_went_away_is_cancelled(target):
    tag = uuid.uuid4().hex
    sql = f"SELECT 'cancel-me-{tag}', sleepEachRow(0.25) FROM numbers(40) SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0"
    params = {"cancel_http_readonly_queries_on_client_close": "1"}
    with target.http() as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post("/", params=params, content=sql.encode(), timeout=httpx.Timeout(30, read=0.5))
    running = f"SELECT count() FROM system.processes WHERE query LIKE concat('%cancel-me-', {{tag:String}}, '%')"
    with target.http() as http:
        deadline = time.monotonic() + 5
        while http.post("/", params={"param_tag": tag}, content=running.encode()).text != "0\n":
            assert time.monotonic() < deadline, "the abandoned query is still running"
            time.sleep(0.1)
        assert http.post("/", content=b"SELECT 1").text == "1\n"
