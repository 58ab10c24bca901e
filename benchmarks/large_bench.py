"""The `large` practice end to end: replication backlog, insert layers, dbt full and incremental builds,
hand-written queries, replication lag under live load, ML training; appended to docs/benchmarks.md.

It reads the PostgreSQL store `benchmarks.seed_bench` leaves behind (schema `seed_bench`), so seed first:

    python -m benchmarks.seed_bench --scale large --backend postgres --anchor $(date -d yesterday +%F)
    python -m benchmarks.large_bench [--work DIR] [--stages replicate,inserts,dbt,queries,live,incremental,ml]

A history that ends yesterday lets the live stage's wall-clock activity continue the practice, so the
incremental dbt run sees what one more day looks like. Stages run in the order given and keep their state
(embedded warehouse, dbt target, API user) in --work, so a stage can be re-run alone. Each stage
records wall seconds and, where the work happens in a child (warehouse server, dbt), that child's CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from benchmarks.machine import machine
from benchmarks.seed_bench import SCHEMA
from tests.pg import schema_url

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks.md"
PG_URL = schema_url(SCHEMA)  # where benchmarks.seed_bench leaves its PostgreSQL seed
# 15 minutes at 20 requests/s is about one day of the `large` practice (1,398 visits; November 2026 averaged
# 1,496 a day): the incremental dbt run measures "one day of new activity".
LIVE_SECONDS = 900.0
STAGES = ("replicate", "inserts", "dbt", "queries", "live", "incremental", "ml", "dashboards", "report")
ADMIN = ("bench.admin", "bench-admin-password-1")
API_PORT = 8791
WARMUP_SECONDS = 15.0
# Data tests only: unit tests pin the SQL on fixed inputs (make test runs them); their cost does not
# grow with the practice and a scheduled build would not repeat them.
TESTS = ["test", "--exclude-resource-type", "unit_test"]
INSERT_TABLES = ("appointments", "claim_lines", "payments")  # the three largest raw tables
INSERT_CAP = 2_000_000  # rows per table for the insert-layer comparison


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process and its waited-for children (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


class Bench:
    def __init__(self, work: Path, pg_url: str = PG_URL):
        self.work = work
        self.pg_url = pg_url
        self.results: dict = json.loads((work / "results.json").read_text()) if (work / "results.json").exists() else {}
        os.environ["PMS_DATA_DIR"] = str(work)
        os.environ["DATABASE_URL"] = pg_url
        self.server = None
        self.parsed = False  # dbt parsed against this invocation's server (see _dbt)

    def save(self, stage: str, figures: dict) -> None:
        figures["load_average"] = round(os.getloadavg()[0], 1)
        figures["at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        self.results[stage] = figures
        (self.work / "results.json").write_text(json.dumps(self.results, indent=2, default=str))
        print(stage, json.dumps(figures, default=str), flush=True)

    # -- the stack --

    def warehouse(self):
        from warehouse.embedded.process import start_server

        if self.server is None:
            self.server = start_server(self.work / "warehouse", timeout=300)
            os.environ["CLICKHOUSE_URL"] = self.server.url
            from pms.settings import get_settings

            get_settings.cache_clear()
        return self.server

    def client(self, **kw):
        from warehouse.client import get_client

        self.warehouse()
        return get_client(**kw)

    def engine(self):
        from ops_api.db import make_engine

        return make_engine(self.pg_url)

    # -- stages --

    def replicate(self) -> None:
        """The whole outbox into a fresh raw schema, timed from position 0."""
        from sqlalchemy import func, select

        from ops_api.models import OutboxEvent
        from warehouse.raw_schema import migrate
        from warehouse.replication import Replicator

        client = self.client()
        client.command("DROP DATABASE IF EXISTS raw SYNC")
        migrate(client)
        engine = self.engine()
        with engine.connect() as conn:
            events = conn.execute(select(func.count()).select_from(OutboxEvent)).scalar_one()
        server_cpu0, cpu0, started = cpu_seconds(self.server.process.pid), time.process_time(), time.perf_counter()
        loaded = Replicator(engine, client, batch_size=50_000).run()
        seconds = time.perf_counter() - started
        self.save("replicate", {
            "events": events, "loaded": loaded, "seconds": round(seconds, 1),
            "events_per_s": round(loaded / seconds), "replicator_cpu_s": round(time.process_time() - cpu0, 1),
            "server_cpu_s": round(cpu_seconds(self.server.process.pid) - server_cpu0, 1)})

    def inserts(self) -> None:
        """The same raw rows through each layer: clickhouse-connect from Python rows (client encoding +
        HTTP + server), the same Native bytes over HTTP (HTTP + server) and into chDB in-process."""
        import tempfile

        import chdb

        client = self.client()
        figures: dict = {}
        with tempfile.TemporaryDirectory(prefix="chdb-bench-", dir=self.work) as local_dir:
            local = chdb.connect(local_dir)
            for table in INSERT_TABLES:
                ddl = client.query("SELECT create_table_query FROM system.tables WHERE database = 'raw' "
                                   f"AND name = '{table}'").result_rows[0][0]
                columns = client.query(f"SELECT * FROM raw.{table} LIMIT 0").column_names
                select = f"SELECT * FROM raw.{table} LIMIT {INSERT_CAP}"
                result = client.query(select)
                rows = result.result_columns
                native = client.raw_query(select, fmt="Native")
                n = result.row_count
                one: dict = {"rows": n, "columns": len(columns), "native_mib": round(len(native) / 2**20, 1)}
                for name, target in (("connect", "bench_copy"), ("native_http", "bench_native")):
                    client.command(f"CREATE DATABASE IF NOT EXISTS {target}")
                    client.command(f"DROP TABLE IF EXISTS {target}.{table} SYNC")
                    client.command(f"CREATE TABLE {target}.{table} AS raw.{table}")
                    started = time.perf_counter()
                    if name == "connect":
                        client.insert(f"{target}.{table}", rows, column_names=columns, column_oriented=True)
                    else:
                        client.raw_insert(f"{target}.{table}", columns, insert_block=native, fmt="Native")
                    one[f"{name}_rows_per_s"] = round(n / (time.perf_counter() - started))
                    client.command(f"DROP TABLE {target}.{table} SYNC")
                local.query("CREATE DATABASE IF NOT EXISTS raw")
                local.query(f"DROP TABLE IF EXISTS raw.{table}")
                local.query(ddl)
                started = time.perf_counter()
                insert = local.send_insert(f"INSERT INTO raw.{table} ({', '.join(columns)})", "Native")
                insert.append(native)
                insert.finish()
                one["chdb_in_process_rows_per_s"] = round(n / (time.perf_counter() - started))
                figures[table] = one
                del rows, native, result
            local.close()
        self.save("inserts", figures)

    def _dbt(self, stage: str, args: list[str]) -> None:
        """Time one dbt command. Each invocation of this benchmark starts its warehouse on a free port, and
        dbt re-parses the whole project when the profile changes, so the first command would time a parse
        (about 5 s) that a stable deployment never pays: `dbt parse` runs first, untimed."""
        from warehouse.dbt_runner import run_dbt

        if not self.parsed:
            run_dbt(["parse"], url=self.server.url, capture_output=True)
            self.parsed = True
        cpu0, server0, started = children_cpu(), cpu_seconds(self.server.process.pid), time.perf_counter()
        started_at = datetime.now(UTC)
        proc = run_dbt(args, url=self.server.url, capture_output=True)
        seconds = time.perf_counter() - started
        (self.work / f"{stage}.log").write_text(proc.stdout + proc.stderr)
        target = self.work / "dbt" / "target"
        results = json.loads((target / "run_results.json").read_text())["results"]
        manifest = json.loads((target / "manifest.json").read_text())
        models = [r for r in results if r["unique_id"].startswith("model.")]
        tests = [r for r in results if r["unique_id"].startswith(("test.", "unit_test."))]
        slowest = sorted(results, key=lambda r: -r["execution_time"])[:6]  # models or tests
        self.save(stage, {
            "returncode": proc.returncode, "seconds": round(seconds, 1),
            "dbt_cpu_s": round(children_cpu() - cpu0, 1),
            "server_cpu_s": round(cpu_seconds(self.server.process.pid) - server0, 1),
            "models": len(models), "model_seconds": round(sum(r["execution_time"] for r in models), 1),
            "tests": len(tests), "test_seconds": round(sum(r["execution_time"] for r in tests), 1),
            "failures": [r["unique_id"] for r in results if r["status"] in ("error", "fail")],
            "slowest_models": {r["unique_id"].split(".")[2]: round(r["execution_time"], 1) for r in slowest},
            **run_timeline(results, manifest, started_at)})

    def dbt(self) -> None:
        """A full build as `dbt run --full-refresh` then the data tests, timed apart (= `dbt build`).

        It starts once the newest raw row is older than dbt's `incremental_lookback_seconds`: a build
        records "reflected through its start less the lookback", so rows replicated just before a full
        build are redone by the next incremental run. Right after the backlog stage that tail was 100k
        encounters and 134k payments, and the incremental run measured it instead of the live activity."""
        self.warehouse()
        client = self.client()
        newest = client.query("SELECT max(_replicated_at) FROM merge('raw', '^[a-z]')").result_rows[0][0]
        if newest is not None:
            from warehouse.dbt_runner import DBT_PROJECT_DIR

            project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
            lookback = project["vars"]["incremental_lookback_seconds"]
            quiet = lookback + 1 - (datetime.now(UTC) - newest.replace(tzinfo=UTC)).total_seconds()
            if quiet > 0:
                time.sleep(quiet)
        self._dbt("dbt_full", ["run", "--full-refresh"])
        self._dbt("dbt_full_tests", TESTS)
        self.materialisation()

    def materialisation(self) -> None:
        """The unavoidable cost: writing each built model's rows once more (INSERT ... SELECT of the
        finished table into an empty copy), i.e. what any pipeline that stores these results pays."""
        client = self.client()
        tables = client.query("SELECT database, name, total_rows FROM system.tables WHERE database IN "
                              "('staging', 'intermediate', 'marts') AND engine LIKE '%MergeTree'").result_rows
        client.command("CREATE DATABASE IF NOT EXISTS bench_copy")
        total, per = 0.0, {}
        for database, name, rows in tables:
            client.command(f"DROP TABLE IF EXISTS bench_copy.{name} SYNC")
            client.command(f"CREATE TABLE bench_copy.{name} AS {database}.{name}")
            started = time.perf_counter()
            client.command(f"INSERT INTO bench_copy.{name} SELECT * FROM {database}.{name}")
            per[f"{database}.{name}"] = (rows, round(time.perf_counter() - started, 2))
            total += per[f"{database}.{name}"][1]
            client.command(f"DROP TABLE bench_copy.{name} SYNC")
        self.save("materialisation", {"seconds": round(total, 1), "tables": len(per),
                                      "rows": sum(r for r, _ in per.values()), "per_table": per})

    def queries(self) -> None:
        """Each aggregate as an analyst would write it over raw.* (FINAL, deleted rows out), timed
        beside the same answer read from the marts."""
        client = self.client(settings={"join_use_nulls": 1})
        day = (self.anchor_day() or date.today()).isoformat()
        figures = {}
        for name, (raw_sql, mart_sql) in HAND_WRITTEN.items():
            one = {}
            for kind, sql in (("raw", raw_sql), ("mart", mart_sql)):
                times = []
                for _ in range(3):
                    started = time.perf_counter()
                    rows = client.query(sql.format(day=day)).result_rows
                    times.append(time.perf_counter() - started)
                one[f"{kind}_seconds"] = round(min(times), 3)
                one[f"{kind}_rows"] = len(rows)
                one[f"{kind}_total"] = str(sum(r[-1] for r in rows))
            figures[name] = one
        figures["day"] = day
        figures["raw_sum_seconds"] = round(sum(f["raw_seconds"] for k, f in figures.items() if k in HAND_WRITTEN), 2)
        self.save("queries", figures)

    def anchor_day(self) -> date | None:
        from sqlalchemy import text

        with self.engine().connect() as conn:
            last = conn.execute(text("SELECT max(date_of_service) FROM encounters")).scalar()
        return last

    @contextmanager
    def api(self) -> Iterator[str]:
        """The operational API on the seeded store, with a benchmark admin; yields its URL."""
        from orchestration.processes import answers
        from pms.demo import ensure_admin

        self.warehouse()
        ensure_admin(*ADMIN, engine=self.engine())
        with open(self.work / "api.log", "ab") as log:
            api = subprocess.Popen([sys.executable, "-m", "uvicorn", "ops_api.main:app", "--port", str(API_PORT),
                                    "--log-level", "warning"], env=os.environ.copy(), cwd=ROOT, stdout=log, stderr=log)
            try:
                url = f"http://127.0.0.1:{API_PORT}"
                _until(lambda: answers(f"{url}/docs"), 60)
                yield url
            finally:
                api.terminate()
                api.wait(30)

    def live(self, seconds: float = LIVE_SECONDS, rate: float = 20.0) -> None:
        """A following replicator and the simulator's live mode at `rate` requests/s through the API;
        the replication lag (age of the oldest event not yet in raw.*) sampled every second."""
        from simulator.live import LiveSimulator
        from warehouse.replication import replication_status

        engine = self.engine()
        lags, stop = [], threading.Event()
        with self.api() as url:
            follower = subprocess.Popen([sys.executable, "-m", "warehouse.replication", "--follow"], cwd=ROOT,
                                        env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                client = self.client()

                def sample() -> None:
                    stop.wait(WARMUP_SECONDS)  # the follower's start-up (imports, first poll) is not lag
                    while not stop.wait(1.0):
                        status = replication_status(engine, client)
                        if status.lag_seconds is not None:
                            lags.append(status.lag_seconds)

                sampler = threading.Thread(target=sample, daemon=True)
                sim = LiveSimulator(url, *ADMIN, rate=rate, seed=7)
                sampler.start()
                sim.run(duration=seconds)
                stop.set()
                sampler.join()
                caught_up_in = _until(lambda: replication_status(engine, client).caught_up, 300)
            finally:
                stop.set()
                follower.terminate()
                follower.wait(30)
        lags.sort()
        self.save("live", {
            "seconds": seconds, "rate_target": rate, "requests": sim.requests, "errors": sim.errors,
            "requests_per_s": round(sim.requests / max(sim.elapsed, 1e-9), 1), "created": sim.created,
            "lag_samples": len(lags), "lag_p50_s": round(statistics.median(lags), 2),
            "lag_p95_s": round(lags[int(0.95 * (len(lags) - 1))], 2), "lag_max_s": round(lags[-1], 2),
            "caught_up_after_s": round(caught_up_in, 1)})

    def dashboards(self) -> None:
        """benchmarks.dashboard_bench against this stack (it appends its own section)."""
        with self.api() as url:
            proc = subprocess.run([sys.executable, "-m", "benchmarks.dashboard_bench", "--clickhouse-url",
                                   self.server.url, "--api-url", url, "--username", ADMIN[0], "--password", ADMIN[1],
                                   "--label", "the `large` simulated practice (benchmarks.large_bench)"],
                                  cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True)
        (self.work / "dashboards.log").write_text(proc.stdout + proc.stderr)
        self.save("dashboards", {"returncode": proc.returncode, "report": proc.stdout[-3000:]})

    def incremental(self) -> None:
        """The run after the live stage's day, its tests, then one more run with nothing new: what any
        incremental run costs however little changed (dbt's start-up and each model's statements)."""
        self.warehouse()
        self._dbt("dbt_incremental", ["run"])
        self._dbt("dbt_incremental_tests", TESTS)
        self._dbt("dbt_nothing_new", ["run"])

    def ml(self) -> None:
        from ml.jobs import train_forecast, train_no_show

        client = self.client()
        started = time.perf_counter()
        cpu0 = time.process_time()
        artifact = train_no_show(client, root=self.work / "models")
        no_show_s, no_show_cpu = time.perf_counter() - started, time.process_time() - cpu0
        started = time.perf_counter()
        forecast = train_forecast(client, root=self.work / "models")
        card = artifact.card
        self.save("ml", {
            "no_show_train_seconds": round(no_show_s, 1), "no_show_train_cpu_s": round(no_show_cpu, 1),
            "appointments": card.get("rows", {}), "no_show_metrics": card["metrics"],
            "forecast_train_seconds": round(time.perf_counter() - started, 1),
            "forecast_metrics": forecast.card["metrics"]})

    def report(self) -> None:
        """Append the stages' figures to docs/benchmarks.md as one section."""
        r = self.results
        lines = [f"## The `large` practice end to end ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)", "",
                 f"Machine: {machine('at the end')}. `python -m benchmarks.large_bench` on the PostgreSQL store seeded by "
                 "`benchmarks.seed_bench --scale large` (history to yesterday), an embedded warehouse on a fresh "
                 "data directory. Every stage's load average is in the work directory's results.json.", ""]
        if "replicate" in r:
            x = r["replicate"]
            lines += ["### Replication backlog (outbox → raw.*, from position 0)", "",
                      "| events | seconds | events/s | replicator CPU s | server CPU s | load |", "|---:|---:|---:|---:|---:|---:|",
                      f"| {x['loaded']:,} | {x['seconds']:,} | {x['events_per_s']:,} | {x['replicator_cpu_s']} | "
                      f"{x['server_cpu_s']} | {x['load_average']} |", ""]
        if "inserts" in r:
            lines += ["### The same rows through each layer (rows/s)", "",
                      "| raw table | rows | columns | clickhouse-connect insert (Python rows) | Native bytes over HTTP "
                      "| chDB in-process (Native) |", "|---|---:|---:|---:|---:|---:|"]
            lines += [f"| {t} | {x['rows']:,} | {x['columns']} | {x['connect_rows_per_s']:,} | "
                      f"{x['native_http_rows_per_s']:,} | {x['chdb_in_process_rows_per_s']:,} |"
                      for t, x in r["inserts"].items() if isinstance(x, dict)]
            lines.append("")
        if "live" in r:
            x = r["live"]
            lines += ["### Replication lag under live load", "",
                      f"`pms seed --live` at {x['rate_target']:g} requests/s for {x['seconds']:g} s through the API "
                      f"({x['requests']:,} requests, {x['errors']} errors; created {x['created']}), "
                      "`pms replicate --follow` beside it; lag = age of the oldest event not yet in raw.*, sampled each "
                      f"second after a {WARMUP_SECONDS:g} s warm-up (the follower's start-up).", "", "| samples | p50 s | p95 s | max s | caught up after the load stopped |",
                      "|---:|---:|---:|---:|---:|",
                      f"| {x['lag_samples']} | {x['lag_p50_s']} | {x['lag_p95_s']} | {x['lag_max_s']} | "
                      f"{x['caught_up_after_s']} s |", ""]
        builds = [k for k in ("dbt_full", "dbt_full_tests", "dbt_incremental", "dbt_incremental_tests", "dbt_nothing_new")
                  if k in r]
        if builds:
            lines += ["### dbt: full build, then an incremental one after the live stage's new activity", "",
                      "`dbt run` and `dbt test` (data tests; unit tests run in `make test`) timed apart: together they are "
                      "`dbt build`; 4 dbt threads.", "",
                      "| step | seconds | models (sum of model s) | tests (sum of test s) | dbt CPU s | server CPU s "
                      "| failures | slowest (s) |", "|---|---:|---:|---:|---:|---:|---:|---|"]
            for k in builds:
                x = r[k]
                slow = ", ".join(f"{m} {t}" for m, t in x["slowest_models"].items())
                lines.append(f"| {k.removeprefix('dbt_').replace('_', ' ')} | {x['seconds']:,} | {x['models']} "
                             f"({x['model_seconds']}) | {x['tests']} ({x['test_seconds']}) | {x['dbt_cpu_s']} | "
                             f"{x['server_cpu_s']} | {len(x['failures'])} | {slow} |")
            for k in ("dbt_full", "dbt_incremental", "dbt_nothing_new"):
                if "critical_path" in r.get(k, {}):
                    chain = " → ".join(f"{m} {t}" for m, t in r[k]["critical_path"].items())
                    lines.append(f"\n{k.removeprefix('dbt_').replace('_', ' ').capitalize()} run: {r[k]['start_s']} s before its first "
                                 f"node starts (Python, importing dbt, the manifest); the chain of models that ends "
                                 f"last (s): {chain}.")
            if all(k in r for k in ("dbt_full", "dbt_full_tests", "dbt_incremental", "dbt_incremental_tests")):
                full = r["dbt_full"]["seconds"] + r["dbt_full_tests"]["seconds"]
                incremental = r["dbt_incremental"]["seconds"] + r["dbt_incremental_tests"]["seconds"]
                lines.append(f"\nIncremental ÷ full: run {r['dbt_incremental']['seconds'] / r['dbt_full']['seconds']:.0%}, "
                             f"run + test {incremental / full:.0%} (target < 15 %).")
            if "dbt_nothing_new" in r and "dbt_full" in r:
                lines.append(f"\nA run with nothing new (right after the incremental one) takes "
                             f"{r['dbt_nothing_new']['seconds']} s, {r['dbt_nothing_new']['seconds'] / r['dbt_full']['seconds']:.0%} "
                             "of the full run: every incremental run pays it, however little changed.")
            lines.append("")
        if "materialisation" in r:
            x = r["materialisation"]
            lines += [f"Materialisation cost: writing the {x['tables']} built tables' {x['rows']:,} rows once more "
                      f"(INSERT … SELECT into empty copies) takes {x['seconds']} s.", ""]
        if "queries" in r:
            x = r["queries"]
            lines += [f"### Hand-written queries over raw.* against the marts (as of {x['day']}, best of 3)", "",
                      "| aggregate | raw.* s | rows | total | marts s | rows | total |", "|---|---:|---:|---:|---:|---:|---:|"]
            lines += [f"| {name} | {q['raw_seconds']} | {q['raw_rows']} | {q['raw_total']} | {q['mart_seconds']} | "
                      f"{q['mart_rows']} | {q['mart_total']} |" for name, q in x.items() if isinstance(q, dict)]
            lines += ["", "The raw A/R query is the shortcut an analyst would write: claims only, UTC dates. It "
                      "leaves out what KPIS.md counts (unbilled visits, self-pay, payments and adjustments not "
                      "applied to a claim, the facility's local day), so its total is lower and its cost a "
                      "lower bound; tests/dbt/test_reconciliation.py holds the mart to the API's own balances.", ""]
            if "dbt_full" in r and "materialisation" in r:
                bound = 2 * x["raw_sum_seconds"] + r["materialisation"]["seconds"]
                lines += [f"Target check: full run {r['dbt_full']['seconds']} s against 2 × {x['raw_sum_seconds']} s "
                          f"(hand-written) + {r['materialisation']['seconds']} s (materialisation) = {bound:.1f} s.", ""]
        if "ml" in r:
            x = r["ml"]
            lines += ["### ML on the large marts", "",
                      f"No-show training (features, fit, calibration, baselines, importance, refit): "
                      f"{x['no_show_train_seconds']} s wall, {x['no_show_train_cpu_s']} s CPU (target < 5 min); "
                      f"forecast training with backtests {x['forecast_train_seconds']} s.", "",
                      "| no-show model | ROC AUC | PR AUC | Brier | Brier (base rate) |", "|---|---:|---:|---:|---:|"]
            lines += [f"| {m} | {v['roc_auc']:.3f} | {v['pr_auc']:.3f} | {v['brier']:.4f} | {v['brier_base_rate']:.4f} |"
                      for m, v in x["no_show_metrics"].items()]
            lines += ["", "| forecast series | season | MASE model | MASE seasonal naive | MASE moving average | "
                      "80 % coverage | 95 % coverage |", "|---|---:|---:|---:|---:|---:|---:|"]
            lines += [f"| {k} | {v['season']:.0f} | {v['mase_model']:.3f} | {v['mase_seasonal_naive']:.3f} | "
                      f"{v['mase_moving_average']:.3f} | {v['coverage_80']:.2f} | {v['coverage_95']:.2f} |"
                      for k, v in x["forecast_metrics"].items()]
            lines.append("")
        existing = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n"
        REPORT.write_text(existing.rstrip("\n") + "\n\n" + "\n".join(lines).rstrip("\n") + "\n")
        print("\n".join(lines))

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def run_timeline(results: list[dict], manifest: dict, started_at: datetime) -> dict:
    """Where a dbt run's wall time goes: the seconds before its first node starts (Python, importing dbt,
    loading the manifest, the relation cache) and the chain of models that ends last, each waiting on the
    input that finished last (its critical path: what more threads or cores cannot shorten)."""
    span = {}
    for r in results:
        if r["timing"]:
            span[r["unique_id"]] = (datetime.fromisoformat(r["timing"][0]["started_at"].replace("Z", "+00:00")),
                                    datetime.fromisoformat(r["timing"][-1]["completed_at"].replace("Z", "+00:00")))
    if not span:
        return {}
    chain, node = [], max((u for u in span if u.startswith("model.")), key=lambda u: span[u][1], default=None)
    while node is not None:
        chain.append(node)
        parents = [p for p in manifest["nodes"].get(node, {}).get("depends_on", {}).get("nodes", []) if p in span]
        node = max(parents, key=lambda p: span[p][1], default=None)
    first = min(start for start, _ in span.values())
    return {"start_s": round((first - started_at).total_seconds(), 1),
            "critical_path": {u.split(".")[-1]: round((span[u][1] - span[u][0]).total_seconds(), 1)
                              for u in reversed(chain)}}


def _until(predicate, timeout: float) -> float:
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"not done after {timeout:.0f}s")
        time.sleep(0.5)
    return time.perf_counter() - started


# (raw query, mart query); the last column of each is the one summed as a cross-check.
HAND_WRITTEN = {
    "ar_aging_at_day": (
        """
        WITH toDate('{day}') AS d,
        claims AS (SELECT id, encounter_id, total_charge FROM raw.claims FINAL WHERE NOT _deleted),
        remit AS (
            SELECT claim_id, argMax(allowed_amount, received_at) AS allowed
            FROM raw.remittances FINAL
            WHERE NOT _deleted AND claim_status IN ('paid', 'partially_paid') AND toDate(received_at) <= d
            GROUP BY claim_id),
        paid AS (SELECT claim_id, sum(amount) AS amount FROM raw.payments FINAL
                 WHERE NOT _deleted AND claim_id IS NOT NULL AND toDate(received_at) <= d GROUP BY claim_id),
        adj AS (SELECT claim_id, sum(if(kind IN ('debit', 'refund'), -amount, amount)) AS amount
                FROM raw.adjustments FINAL
                WHERE NOT _deleted AND status = 'approved' AND claim_id IS NOT NULL AND toDate(posted_at) <= d
                GROUP BY claim_id),
        enc AS (SELECT id, date_of_service FROM raw.encounters FINAL WHERE NOT _deleted AND date_of_service <= d)
        SELECT multiIf(age <= 30, '0-30', age <= 60, '31-60', age <= 90, '61-90', age <= 120, '91-120', '121+')
                   AS bucket,
               sum(balance) AS ar
        FROM (
            SELECT dateDiff('day', enc.date_of_service, d) AS age,
                   c.total_charge - if(r.allowed IS NULL, 0, c.total_charge - r.allowed)
                   - coalesce(p.amount, 0) - coalesce(a.amount, 0) AS balance
            FROM claims c
            JOIN enc ON enc.id = c.encounter_id
            LEFT JOIN remit r ON r.claim_id = c.id
            LEFT JOIN paid p ON p.claim_id = c.id
            LEFT JOIN adj a ON a.claim_id = c.id)
        WHERE balance > 0
        GROUP BY bucket ORDER BY bucket""",
        """
        SELECT aging_bucket, sum(ar_balance) AS ar FROM marts.fct_ar_aging_daily
        WHERE date = toDate('{day}') GROUP BY aging_bucket ORDER BY aging_bucket"""),
    "denial_rate_by_payer": (
        """
        WITH first AS (
            SELECT claim_id, argMin(claim_status, received_at) AS status,
                   argMin(denial_reason_code, received_at) AS reason
            FROM raw.remittances FINAL WHERE NOT _deleted GROUP BY claim_id)
        SELECT c.payer_id, count() AS adjudicated,
               countIf(first.status = 'denied' OR first.reason IS NOT NULL) / count() AS denial_rate
        FROM first JOIN (SELECT id, payer_id FROM raw.claims FINAL WHERE NOT _deleted) c ON c.id = first.claim_id
        GROUP BY c.payer_id ORDER BY c.payer_id""",
        """
        SELECT payer_id, countIf(first_adjudicated_at IS NOT NULL) AS adjudicated,
               countIf(is_initial_denial) / countIf(first_adjudicated_at IS NOT NULL) AS denial_rate
        FROM marts.fct_claims GROUP BY payer_id ORDER BY payer_id"""),
    "visits_wrvus_by_provider_month": (
        """
        WITH fees AS (SELECT procedure_code, effective_from, work_rvu FROM raw.fee_schedule FINAL WHERE NOT _deleted)
        SELECT e.provider_id, toStartOfMonth(e.date_of_service) AS month, uniqExact(e.id) AS visits,
               sum(l.units * f.work_rvu) AS wrvus
        FROM (SELECT id, provider_id, date_of_service FROM raw.encounters FINAL WHERE NOT _deleted) e
        JOIN (SELECT encounter_id, procedure_code, units FROM raw.encounter_lines FINAL WHERE NOT _deleted) l
            ON l.encounter_id = e.id
        ASOF LEFT JOIN fees f ON f.procedure_code = l.procedure_code AND e.date_of_service >= f.effective_from
        GROUP BY e.provider_id, month ORDER BY e.provider_id, month""",
        """
        SELECT provider_id, toStartOfMonth(date) AS month, sum(visits) AS visits, sum(wrvus) AS wrvus
        FROM marts.fct_provider_productivity GROUP BY provider_id, month ORDER BY provider_id, month"""),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "pms-large-bench")
    parser.add_argument("--pg-url", default=PG_URL, help="the seeded operational store")
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--live-seconds", type=float, default=LIVE_SECONDS)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    bench = Bench(args.work.resolve(), args.pg_url)
    try:
        for stage in args.stages.split(","):
            if stage == "live":
                bench.live(args.live_seconds, args.rate)
            else:
                getattr(bench, stage)()
    finally:
        bench.close()


if __name__ == "__main__":
    main()
