"""dbt-clickhouse over HTTP: `dbt debug` and a small `dbt build` (seed, view, table, incremental, tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.warehouse

DBT = Path(sys.executable).with_name("dbt")

SEED = """\
patient_id,name,balance,visit_date
1,Ada,120.50,2024-01-05
2,Grace,0.00,2024-01-06
3,Alan,99.99,2024-02-01
"""
MODELS = {
    "stg_patients.sql": """
        {{ config(materialized='view') }}
        select patient_id, name, toDecimal64(balance, 2) as balance, toDate(visit_date) as visit_date
        from {{ ref('patients') }}
    """,
    "patient_balances.sql": """
        {{ config(materialized='table', order_by='patient_id') }}
        select patient_id, sum(balance) as balance from {{ ref('stg_patients') }} group by patient_id
    """,
    "visits.sql": """
        {{ config(materialized='incremental', unique_key='patient_id', order_by='patient_id') }}
        select patient_id, visit_date from {{ ref('stg_patients') }}
        {% if is_incremental() %} where visit_date >= (select max(visit_date) from {{ this }}) {% endif %}
    """,
    "schema.yml": """
        version: 2
        models:
          - name: visits
            columns:
              - name: patient_id
                data_tests: [unique, not_null]
          - name: patient_balances
            columns:
              - name: balance
                data_tests: [not_null]
    """,
}


def _project(root: Path, target, database: str) -> Path:
    (root / "seeds").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "seeds" / "patients.csv").write_text(SEED)
    for name, body in MODELS.items():
        (root / "models" / name).write_text(textwrap.dedent(body).lstrip())
    (root / "dbt_project.yml").write_text(
        "name: conformance\nversion: '1.0'\nprofile: conformance\nconfig-version: 2\n"
        "seeds:\n  conformance:\n    patients:\n      +column_types: {patient_id: Int64, balance: 'Decimal(18, 2)', visit_date: Date}\n"
    )
    (root / "profiles.yml").write_text(
        textwrap.dedent(f"""
            conformance:
              target: test
              outputs:
                test:
                  type: clickhouse
                  driver: http
                  host: {target.host}
                  port: {target.port}
                  user: {target.user}
                  password: "{target.password}"
                  schema: {database}
                  threads: 2
        """)
    )
    return root


def _dbt(project: Path, *args: str) -> str:
    env = {**os.environ, "DBT_PROFILES_DIR": str(project), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    run = subprocess.run(
        [str(DBT), *args, "--project-dir", str(project), "--no-use-colors"],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run.stdout


def test_dbt_debug_and_build(target, database, client, tmp_path):
    project = _project(tmp_path / "project", target, database)
    # An existing `visits` makes this build take the incremental path (merge on unique_key) in one run.
    client.command("CREATE TABLE visits (patient_id Int64, visit_date Date) ENGINE = MergeTree ORDER BY patient_id")
    client.command("INSERT INTO visits VALUES (1, '2023-12-31'), (9, '2023-12-30')")
    assert "All checks passed" in _dbt(project, "debug")
    output = _dbt(project, "build")
    assert "PASS=7" in output and "ERROR=0" in output  # 1 seed, 3 models, 3 tests
    balances = client.query("SELECT patient_id, balance FROM patient_balances ORDER BY patient_id").result_rows
    assert balances == [(1, Decimal("120.50")), (2, Decimal("0.00")), (3, Decimal("99.99"))]
    visits = client.query("SELECT patient_id, visit_date FROM visits ORDER BY patient_id").result_rows
    # patient 9 survives (so this was a merge, not a rebuild) and patient 1 was replaced by its key
    assert [(p, str(d)) for p, d in visits] == [(1, "2024-01-05"), (2, "2024-01-06"), (3, "2024-02-01"), (9, "2023-12-30")]
    assert client.command("SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'stg_patients'") == "View"
