"""One session of the dbt marts on a real warehouse: built once, shared by every test here.

The session fixture starts the embedded warehouse (a subprocess on a free port), writes a small practice
through the ops service layer into a SQLite operational store, replicates it with the real replicator
(then re-delivers every raw row, as a crash between load and checkpoint would), and runs `dbt build`
(models, data tests and unit tests) through `warehouse.dbt_runner`. It keeps the full-build SQL that build
compiled for the incremental facts and the singular invariant tests, lets late data arrive (a back-dated
remittance and payment, a rescheduled visit, a replaced schedule), replicates again, runs the incremental
build (after two partial runs that leave STALE_INPUT behind its peers), runs fct_kpi_daily once more after a
stray day was slipped into its calendar and on a copy built before it was partitioned, and `dbt docs
generate`. Tests
then compare the incremental facts with their full-build SQL run on the same data, re-run the invariants,
and compare the marts with the ops store.
dbt parse/compile is slow: dbt runs seven times per session (one xdist group), never per test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ops_api import migrations
from ops_api.db import make_engine, session_factory
from tests.dbt.practice import AS_OF, Built, PracticeBuilder
from warehouse.client import get_client
from warehouse.dbt_runner import run_dbt
from warehouse.embedded.process import start_server
from warehouse.replication import Replicator

USER, PASSWORD = "pms_dbt_test", "dbt-test-password-4e1a"
# No lookback: the test replicates before each run starts, so which partitions a late change recomputes is exact.
DBT_VARS = json.dumps({"as_of_date": AS_OF.isoformat(), "incremental_lookback_seconds": 0})
# Built before the late data is replicated, then left out of the next run: the models reading it are
# rebuilt from a stale input beside fresh ones (as a partial Dagster run leaves them), and the run after
# must still pick up its late rows.
STALE_INPUT = "stg_ops__payments"
INCREMENTAL_FACTS = ("fct_ar_aging_daily", "fct_claims", "fct_payments", "fct_appointments", "fct_claim_denials",
                     "fct_provider_productivity", "fct_kpi_daily")
# Every incremental model (schema, name, the key its rows are ordered by for comparison).
STAGING_TABLES = ("adjustments", "appointment_status_events", "appointments", "claim_lines", "claim_status_events",
                  "claims", "coverages", "encounter_diagnoses", "encounter_lines", "encounters", "facilities",
                  "fee_schedule", "patients", "payers", "payments", "provider_facilities", "provider_schedules",
                  "provider_time_off", "providers", "remittance_adjustments", "remittances")
INCREMENTAL_MODELS = (
    *(("staging", f"stg_ops__{t}") for t in STAGING_TABLES),
    *(("intermediate", m) for m in ("int_encounters_summarized", "int_claims_lifecycle", "int_appointment_outcomes",
                                    "int_ar_transactions", "int_ar_balance_history")),
    *(("marts", f) for f in INCREMENTAL_FACTS),
    ("marts", "dim_patient"),
)
DBT_SESSION_SETTINGS = {"join_use_nulls": 1, "prefer_column_name_to_alias": 1}
# Before the incremental run, this model is left as a run that failed half-way leaves it: its pre-hook
# staged a key and deleted the key's rows, then the body failed. The next run must recompute that key
# (the comparison with a full rebuild in test_reconciliation.py fails otherwise).
HALF_DONE = ("intermediate", "int_claims_lifecycle", "claim_id")


@dataclass
class DbtStep:
    args: list[str]
    returncode: int
    output: str
    results: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def failures(self) -> list[str]:
        return [f"{r['unique_id']}: {r['status']} {r.get('message') or ''}" for r in self.results
                if r["status"] not in ("success", "pass", "no-op")]


@dataclass
class MartsSession:
    url: str
    ops_engine: Engine
    built: Built
    build: DbtStep
    stale: list[DbtStep]  # the partial runs before `incremental` (STALE_INPUT)
    incremental: DbtStep
    docs: DbtStep
    target_dir: Path
    full_build_sql: dict[str, str]  # incremental model → the SQL its first (full) build ran
    invariant_sql: dict[str, str]  # singular test → its compiled SQL (rows returned = failures)
    kpi_months: dict[int, bool]  # fct_kpi_daily's months after the incremental run → recomputed by it
    calendar_run: DbtStep  # `run -s fct_kpi_daily` after a day before the first activity was slipped in
    unpartitioned_run: DbtStep  # `run -s fct_kpi_daily` on a table built before it was partitioned
    older_shape_run: DbtStep  # `run -s int_claims_lifecycle` on a table without a column the model selects
    older_shape_rows: tuple[int, int]  # that table's rows before and after the run

    def client(self, **kw):
        return get_client(url=self.url, **kw)

    def query(self, sql: str, **params) -> list[tuple]:
        client = self.client()
        try:
            return client.query(sql, parameters=params or None).result_rows
        finally:
            client.close()

    def query_compiled(self, sql: str) -> list[tuple]:
        """SQL dbt compiled, with the session settings of dbt/profiles.yml (ANSI joins, column names first)."""
        client = self.client(settings=DBT_SESSION_SETTINGS)
        try:
            return client.query(sql).result_rows
        finally:
            client.close()


def _dbt(url: str, target: Path, *args: str) -> DbtStep:
    env = {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs"), "DBT_THREADS": "4"}
    started = time.monotonic()
    done = run_dbt([*args, "--vars", DBT_VARS], url=url, extra_env=env, capture_output=True)
    results_file = target / "run_results.json"
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    if results_file.exists():
        results_file.unlink()  # never read a previous step's results
    return DbtStep(list(args), done.returncode, done.stdout[-6000:] + done.stderr[-3000:], results,
                   time.monotonic() - started)


def _read(root: Path, name: str) -> str:
    # the model itself (unit-test fixtures compile under their .yml file)
    paths = [p for p in root.glob(f"*/**/{name}") if ".yml" not in str(p.relative_to(root))]
    return paths[0].read_text() if len(paths) == 1 else ""


def _replicate(engine: Engine, client) -> int:
    return Replicator(engine, client).run()  # until caught up


def _redeliver(client) -> None:
    """Every raw row again, as after a crash between a batch's load and its checkpoint."""
    tables = [r[0] for r in client.query(
        "select name from system.tables where database = 'raw' and not startsWith(name, '_')").result_rows]
    for table in tables:
        client.command(f"insert into raw.`{table}` select * from raw.`{table}`")


def _touched_since_last_build(model: str, columns: tuple[tuple[str, str], ...]) -> str:
    """SQL for the ids the raw rows replicated since `model`'s last build name (`(table, column)` each): what
    its next run recomputes anyway, so a test that plants a stale row must choose outside them."""
    watermark = f"(select max(reflected_through) from dbt_meta.model_watermarks where model = '{model}')"
    return " union distinct ".join(
        f"select assumeNotNull({column}) as id from raw.{table} where _replicated_at > {watermark} and {column} is not null"
        for table, column in columns)


def _fail_half_way(client, schema: str, model: str, key: str) -> None:
    """Stage one claim of `model` that nothing replicated since its last build touches, and delete its
    rows, as the pre-hook of a run that then failed would have."""
    touched = _touched_since_last_build(model, (("claims", "id"), ("claim_lines", "claim_id"),
                                                ("claim_status_events", "claim_id"), ("remittances", "claim_id"),
                                                ("payments", "claim_id"), ("adjustments", "claim_id")))
    chosen = client.query(f"select min({key}) from {schema}.{model} where {key} not in ({touched})").result_rows[0][0]
    assert chosen.int != 0, f"every row of {model} changed since its last build: nothing left to fail half-way"
    client.command(f"create table {schema}.{model}__changed_keys (key UUID) engine = MergeTree order by key")
    client.command(f"insert into {schema}.{model}__changed_keys values ('{chosen}')")
    client.command(f"delete from {schema}.{model} where {key} = '{chosen}'")
    assert client.query(f"select count() from {schema}.{model} where {key} = '{chosen}'").result_rows == [(0,)]


def _age_two_patients(client) -> None:
    """Give one patient the age band, and another the insurance kind, of another day, as when a birthday or a
    coverage's end passes between two builds (the test's "today" is pinned): the next run must recompute them."""
    touched = _touched_since_last_build("dim_patient", (("patients", "id"), ("coverages", "patient_id"),
                                                        ("encounters", "patient_id")))
    chosen = client.query(f"select groupArray(2)(patient_id) from (select patient_id from marts.dim_patient "
                          f"where age_band != '75+' and primary_payer_kind != 'self_pay' and patient_id not in ({touched}) "
                          f"order by patient_id)").result_rows[0][0]
    assert len(chosen) == 2, "every patient changed since the last build: none left to age"
    for column, value, patient in (("age_band", "75+", chosen[0]), ("primary_payer_kind", "self_pay", chosen[1])):
        client.command(f"alter table marts.dim_patient update {column} = '{value}' where patient_id = '{patient}' "
                       "settings mutations_sync = 2")


def _months_written_by_the_last_run(client, schema: str, table: str) -> dict[int, bool]:
    """Each month (partition) of a table → whether the last dbt run wrote it (for a table with no watermark
    column: fct_kpi_daily's columns are KPIS.md's contract)."""
    rows = client.query("select partition, max(modification_time) >= (select toStartOfSecond(max(started_at)) "
                        "from dbt_meta.runs) from system.parts where database = {s:String} and table = {t:String} "
                        "and active group by partition", parameters={"s": schema, "t": table}).result_rows
    return {int(month): bool(fresh) for month, fresh in rows}


def _move_the_kpi_calendar(client, url: str, target: Path) -> DbtStep:
    """Slip a day from before the first activity into fct_kpi_daily, as a build made before that day's activity
    was deleted leaves it, and run it again: its calendar must start at the first activity again (the stray
    month dropped whole, the months up to the first activity's recomputed)."""
    facility = client.query("select min(facility_id) from marts.fct_kpi_daily").result_rows[0][0]
    client.command(f"insert into marts.fct_kpi_daily (date, facility_id) values ('2025-11-15', '{facility}')")
    return _dbt(url, target, "run", "-s", "fct_kpi_daily")


@contextmanager
def _built_by_an_older_model(client, table: str, create_sql: str) -> Iterator[None]:
    """`table` replaced, for the block, by a copy made with `create_sql` (`create table {copy} ...`), as an
    older version of its model built it; put back afterwards."""
    schema, name = table.split(".")
    copy = f"{schema}.{name}_older"
    client.command(create_sql.format(copy=copy))
    client.command(f"exchange tables {copy} and {table}")
    try:
        yield
    finally:
        client.command(f"exchange tables {copy} and {table}")
        client.command(f"drop table {copy}")


def _run_on_an_unpartitioned_kpi_table(client, url: str, target: Path) -> DbtStep:
    """An incremental run of fct_kpi_daily on a copy built before the model was partitioned by month (as a
    warehouse from before 2026-12-06 holds it)."""
    with _built_by_an_older_model(client, "marts.fct_kpi_daily", "create table {copy} engine = MergeTree "
                                  "order by (facility_id, date) as select * from marts.fct_kpi_daily"):
        return _dbt(url, target, "run", "-s", "fct_kpi_daily")


def _run_on_a_table_of_an_older_shape(client, url: str, target: Path) -> tuple[DbtStep, tuple[int, int]]:
    """An incremental run of int_claims_lifecycle on a copy built by a version of the model without its
    `timezone` column, with a changed claim staged (so that the run has rows to delete)."""
    with _built_by_an_older_model(client, "intermediate.int_claims_lifecycle", "create table {copy} engine = "
                                  "MergeTree order by claim_id as select * except (timezone) "
                                  "from intermediate.int_claims_lifecycle"):
        client.command("create table intermediate.int_claims_lifecycle__changed_keys (key UUID) engine = MergeTree "
                       "order by key as select claim_id from intermediate.int_claims_lifecycle limit 1")
        try:
            before = client.command("select count() from intermediate.int_claims_lifecycle")
            run = _dbt(url, target, "run", "-s", "int_claims_lifecycle")
            return run, (before, client.command("select count() from intermediate.int_claims_lifecycle"))
        finally:
            client.command("drop table if exists intermediate.int_claims_lifecycle__changed_keys")


@pytest.fixture(scope="session")
def marts(tmp_path_factory) -> Iterator[MartsSession]:
    root = tmp_path_factory.mktemp("dbt-marts")
    handle = start_server(root / "warehouse", user=USER, password=PASSWORD)
    try:
        url = f"http://{USER}:{PASSWORD}@{handle.host}:{handle.port}/default"
        ops_url = f"sqlite:///{root / 'ops.db'}"
        migrations.upgrade(ops_url)
        engine = make_engine(ops_url)
        client = get_client(url=url)
        with session_factory(engine)() as session:
            builder = PracticeBuilder(session)
            built = builder.build()
            _replicate(engine, client)
            _redeliver(client)
            target = root / "dbt-target"
            build = _dbt(url, target, "build")
            compiled = target / "compiled" / "spark_den"
            full_build_sql = {m: _read(compiled / "models", f"{m}.sql") for _, m in INCREMENTAL_MODELS}
            invariant_sql = {p.stem: p.read_text() for p in (compiled / "tests").glob("*.sql")}

            stale = [_dbt(url, target, "run", "-s", STALE_INPUT)]
            builder.late_changes()
            _replicate(engine, client)
            stale.append(_dbt(url, target, "run", "--exclude", STALE_INPUT))
            _fail_half_way(client, *HALF_DONE)
            _age_two_patients(client)
            incremental = _dbt(url, target, "run")
            kpi_months = _months_written_by_the_last_run(client, "marts", "fct_kpi_daily")
            calendar_run = _move_the_kpi_calendar(client, url, target)
            unpartitioned_run = _run_on_an_unpartitioned_kpi_table(client, url, target)
            older_shape_run, older_shape_rows = _run_on_a_table_of_an_older_shape(client, url, target)
            docs = _dbt(url, target, "docs", "generate", "--no-compile")
        client.close()
        yield MartsSession(url, engine, built, build, stale, incremental, docs, target, full_build_sql, invariant_sql,
                           kpi_months, calendar_run, unpartitioned_run, older_shape_run, older_shape_rows)
        engine.dispose()
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def ops_session_factory(marts):
    return session_factory(marts.ops_engine)

