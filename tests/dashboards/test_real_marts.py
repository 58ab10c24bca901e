"""The dashboards on marts that dbt really built: the dbt tests' small practice (tests/dbt/practice.py),
written through the ops services, replicated and built with `dbt run`. This keeps the hand-made
warehouse of seed.py honest (same columns and types) and runs every page on real marts.

No ml.* tables here (nothing is trained): the pages must say so instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from dashboards import ui
from ops_api import migrations
from ops_api.db import make_engine, session_factory
from tests.dashboards.seed import SCHEMA
from tests.dashboards.support import Stack, environment, sign_in_all, start_api
from tests.dbt.practice import AS_OF, PracticeBuilder
from warehouse.client import get_client
from warehouse.dbt_runner import run_dbt
from warehouse.embedded.process import start_server
from warehouse.replication import Replicator

pytestmark = pytest.mark.warehouse

USER, PASSWORD = "pms_dash_dbt", "dash-dbt-password-5b7e"
PERIOD = {"d1": AS_OF - timedelta(days=89), "d2": AS_OF}


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("dashboards-dbt")
    handle = start_server(root / "warehouse", user=USER, password=PASSWORD)
    url = f"http://{USER}:{PASSWORD}@{handle.host}:{handle.port}/default"
    ops_url = f"sqlite:///{root / 'ops.db'}"
    api = None
    try:
        migrations.upgrade(ops_url)
        engine = make_engine(ops_url)
        with session_factory(engine)() as session:
            built = PracticeBuilder(session).build()
        client = get_client(url=url)
        Replicator(engine, client).run()
        client.close()
        engine.dispose()
        target = root / "dbt-target"
        done = run_dbt(["run", "--vars", json.dumps({"as_of_date": AS_OF.isoformat()})], url=url,
                       extra_env={"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs"),
                                  "DBT_THREADS": "4"}, capture_output=True)
        assert done.returncode == 0, done.stdout[-4000:]
        api = start_api(ops_url, [str(built.facilities["east"].id), str(built.facilities["west"].id)])
        yield Stack(url, api, None, sign_in_all(api.url))
    finally:
        if api is not None:
            api.stop()
        handle.stop()


def _base(column_type: str | None) -> str | None:
    """The type without Nullable(): the dashboards' SQL reads both alike."""
    if column_type and column_type.startswith("Nullable(") and column_type.endswith(")"):
        return column_type[len("Nullable("):-1]
    return column_type


def test_dashboards_on_dbt_built_marts(real):
    """One test, so one worker builds the marts."""
    # 1. The page tests' hand-made warehouse has dbt's columns, with the same (base) types.
    for table, columns in SCHEMA.items():
        built = dict(real.client().query("select name, type from system.columns where database = 'marts' "
                                         "and table = {t:String}", parameters={"t": table}).result_rows)
        assert built, f"dbt built no marts.{table}"
        drift = {c: (t, built.get(c)) for c, t in columns if _base(built.get(c)) != _base(t)}
        assert not drift, f"marts.{table} drifted from tests/dashboards/seed.py SCHEMA (seed, dbt): {drift}"

    with environment(real.clickhouse_url, real.api.url):
        # 2. Every page renders; with no model trained yet, the forecast parts say so.
        at = real.app("admin").run()
        for page in ("pages/executive.py", "pages/revenue_cycle.py", "pages/scheduling.py", "pages/forecasts.py",
                     "pages/builder.py", "pages/my_dashboards.py", "pages/sql.py"):
            at.switch_page(page).run()
            assert not at.exception, (page, [e.value for e in at.exception])
            assert not at.error, (page, [e.value for e in at.error])
            if page in ("pages/executive.py", "pages/forecasts.py"):
                assert any("pms ml" in i.value for i in at.info), page

        # 3. The executive figures are the marts'.
        at = real.app("exec").run()
        shown = {m.label: m.value for m in at.metric}
    paid = real.scalar("select sum(amount) from marts.fct_payments where received_date between {d1:Date} and {d2:Date}",
                       **PERIOD)
    assert paid > 0 and shown["Payments received"] == ui.money_short(paid)
    assert any(c.value.startswith(ui.money(paid) + " · ") for c in at.caption)
    assert paid == real.scalar("select sum(payments_received) from marts.fct_kpi_daily "
                               "where date between {d1:Date} and {d2:Date}", **PERIOD)
    claims = real.scalar("select count() from marts.fct_claims where date_of_service between {d1:Date} and {d2:Date}",
                         **PERIOD)
    assert shown["Claims"] == f"{claims:,}"
    no_show, kept = real.client().query(
        "select sum(appointments_no_show), sum(appointments_completed + appointments_checked_in + "
        "appointments_no_show) from marts.fct_kpi_daily where date between {d1:Date} and {d2:Date}",
        parameters=PERIOD).result_rows[0]
    assert shown["No-show rate"] == f"{no_show / kept:.1%}"
