"""ml against the embedded ClickHouse: marts in, idempotent scores and forecasts out."""

import uuid
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from ml import jobs
from ml.forecast.train import HORIZON
from ml.scores import latest_probabilities, write_scores
from ml.tables import ensure_schema
from tests.ml.synthetic import START, appointments, weekly_series

pytestmark = pytest.mark.warehouse
AS_OF = START + pd.Timedelta(days=300)
MART_DDL = (
    """CREATE TABLE {db}.fct_appointments (
        appointment_id UUID, patient_id UUID, provider_id UUID, facility_id UUID, appointment_type String,
        booked_at DateTime64(6, 'UTC'), starts_at DateTime64(6, 'UTC'), ends_at DateTime64(6, 'UTC'),
        lead_time_days Nullable(Int32), start_weekday Nullable(UInt8), start_hour Nullable(UInt8),
        appointment_status String, reminder_sent UInt8
    ) ENGINE = MergeTree ORDER BY appointment_id""",
    "CREATE TABLE {db}.dim_patient (patient_id UUID, age_band String, primary_payer_kind String) ENGINE = MergeTree ORDER BY patient_id",
    "CREATE TABLE {db}.fct_payments (received_date Date, facility_id UUID, amount Decimal(18, 2)) ENGINE = MergeTree ORDER BY received_date",
)


def _uuid(text: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, text)


def _load_marts(client, db: str) -> pd.DataFrame:
    """A synthetic practice in mart shape; appointments from AS_OF on are still to come."""
    for ddl in MART_DDL:
        client.command(ddl.format(db=db))
    appts = appointments(n_patients=500, per_patient=8, seed=5)
    appts["status"] = np.where(appts["starts_at"] >= AS_OF, "scheduled", appts["status"])
    rows = [
        [_uuid(r.appointment_id), _uuid(r.patient_id), _uuid(r.provider_id), _uuid(r.facility_id), r.appointment_type,
         r.booked_at.to_pydatetime(), r.starts_at.to_pydatetime(), r.outcome_known_at.to_pydatetime(),
         int(r.lead_days), int(r.start_weekday), int(r.start_hour), r.status, int(r.reminder_sent)]
        for r in appts.itertuples()
    ]
    client.insert(f"{db}.fct_appointments", rows, column_names=[
        "appointment_id", "patient_id", "provider_id", "facility_id", "appointment_type", "booked_at", "starts_at",
        "ends_at", "lead_time_days", "start_weekday", "start_hour", "appointment_status", "reminder_sent"])
    patients = appts.drop_duplicates("patient_id")
    client.insert(f"{db}.dim_patient", [[_uuid(p), a, k] for p, a, k in zip(patients["patient_id"], patients["age_band"], patients["payer_kind"])],
                  column_names=["patient_id", "age_band", "primary_payer_kind"])
    weekly = weekly_series(weeks=100)
    payments = [
        [(week + pd.Timedelta(days=2)).date(), _uuid(facility), Decimal(f"{amount * share:.2f}")]
        for week, amount in weekly.items() for facility, share in (("f1", 0.7), ("f2", 0.3))
    ]
    client.insert(f"{db}.fct_payments", payments, column_names=["received_date", "facility_id", "amount"])
    return appts


def _count(client, sql: str) -> int:
    return client.query(sql).result_rows[0][0]


def test_train_and_score_from_marts_idempotently(client, database, tmp_path):
    appts = _load_marts(client, database)
    upcoming = int((appts["starts_at"] >= AS_OF).sum())
    where = {"root": tmp_path, "database": database, "marts": database}

    no_show = jobs.train_no_show(client, test_fraction=0.25, **where)
    assert no_show.card["metrics"]["gradient_boosting"]["roc_auc"] > 0.6
    for _ in range(2):
        version, scored = jobs.score_no_show(client, as_of=AS_OF.to_pydatetime(), **where)
        assert (version, scored) == (no_show.version, upcoming)
    assert _count(client, f"SELECT count() FROM {database}.no_show_scores FINAL") == upcoming
    assert _count(client, f"SELECT count() FROM {database}.latest_no_show") == upcoming

    forecast = jobs.train_forecast(client, **where)
    assert set(forecast.card["metrics"]) == {"practice", str(_uuid("f1")), str(_uuid("f2"))}
    for _ in range(2):
        assert jobs.write_forecast(client, root=tmp_path, database=database) == (forecast.version, 3 * HORIZON)
    rows = client.query(f"SELECT facility_id, point, lo95, hi95 FROM {database}.latest_revenue_forecast").result_rows
    assert len(rows) == 3 * HORIZON and sum(r[0] is None for r in rows) == HORIZON
    assert all(isinstance(r[1], Decimal) and r[2] <= r[1] <= r[3] for r in rows)
    metrics = client.query(f"SELECT model, count() FROM {database}.model_metrics FINAL GROUP BY model").result_rows
    assert {"no_show", "no_show.logistic_regression", "revenue_forecast"} <= {m for m, _ in metrics}


def test_latest_probability_per_appointment(client, database):
    assert latest_probabilities(client, [uuid.uuid4()], database=database) == {}  # before any scoring
    ensure_schema(client, database)
    ensure_schema(client, database)  # repeatable
    ids = [uuid.uuid4() for _ in range(3)]
    frame = pd.DataFrame({"appointment_id": [str(i) for i in ids], "probability": [0.1, 0.2, 0.3]})
    write_scores(client, frame, "v1", database=database)
    write_scores(client, frame.assign(probability=[0.15, 0.25, 0.35]), "v1", database=database)  # a re-run
    write_scores(client, frame.iloc[:1].assign(probability=0.9), "v2", database=database)  # a newer model
    stranger = uuid.uuid4()
    got = latest_probabilities(client, [*ids, str(stranger)], database=database)
    assert got == {ids[0]: 0.9, ids[1]: 0.25, ids[2]: 0.35}
    assert latest_probabilities(client, [], database=database) == {}
    assert _count(client, f"SELECT count() FROM {database}.no_show_scores FINAL") == 4
