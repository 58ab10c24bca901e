"""The two write paths give the same rows, ids, timestamps and outbox events for the same seed."""

import collections
import json
import sqlite3
from contextlib import closing

import pytest
from sqlalchemy import JSON, text

from ops_api.db import make_engine
from ops_api.models import Base

from simulator import engine, practice, run
from simulator.scales import SCALES
from tests.simulator.conftest import ANCHOR, LIMIT, SEED, dumped, schema_drift, small_batches

pytestmark = [pytest.mark.xdist_group("simulator-service"), pytest.mark.slow]  # the service path: ~1 min


def test_the_tiny_stream_exercises_every_kind_of_operation():
    kinds = collections.Counter()
    appealed = set()
    for op in engine.stream(practice.build(SCALES["tiny"], SEED, ANCHOR), LIMIT):
        name = type(op).__name__
        if name == "MoveClaim":
            appealed |= {id(op.claim)} if op.status == "appealed" else set()
            name = f"MoveClaim:{op.status}"
        elif name == "PostRemittance" and id(op.claim) in appealed:
            name = "PostRemittance:after appeal"
        elif name == "Book" and op.rescheduled_from is not None:
            name = "Book:reschedule"
        elif name == "RequestAdjustment":
            name = f"RequestAdjustment:{op.kind}"
        kinds[name] += 1
    required = {"CreateFacility", "CreatePayer", "SetFee", "CreateProvider", "CreateUser", "SetSchedule",
                "RegisterPatient", "AddCoverage", "Book", "Book:reschedule", "SendReminder", "MoveAppointment",
                "RecordEncounter", "CreateClaim", "SubmitClaim", "MoveClaim:accepted", "MoveClaim:rejected",
                "MoveClaim:draft", "MoveClaim:appealed", "MoveClaim:closed", "PostRemittance",
                "PostRemittance:after appeal", "PatientPayment", "RequestAdjustment:write_off",
                "RequestAdjustment:discount", "RequestAdjustment:refund", "DecideAdjustment"}
    assert required <= kinds.keys(), required - kinds.keys()


def _assert_same(expected: dict, actual: dict) -> None:
    assert expected.keys() == actual.keys()
    for table, rows in expected.items():
        assert len(actual[table]) == len(rows), table
        for want, got in zip(rows, actual[table], strict=True):
            assert got == want, f"{table}: first difference"


def test_bulk_writes_what_the_services_write_on_sqlite(service_url, bulk_url):
    expected = dumped(service_url)
    assert len(expected["outbox"]) > 5000 and len(expected["appointments"]) > 300
    _assert_same(expected, dumped(bulk_url))
    engine = make_engine(bulk_url)
    assert schema_drift(engine) == []  # the indexes dropped for the load are back
    engine.dispose()
    assert _json_texts(bulk_url) == _json_texts(service_url)  # stored byte for byte as the ORM stores them


def _json_texts(url: str) -> dict:
    """{(table, column, id): the stored text} of every JSON column, read below SQLAlchemy."""
    columns = [(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns if isinstance(c.type, JSON)]
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        return {(table, column, i): text for table, column in columns
                for i, text in conn.execute(f"SELECT id, {column} FROM {table}")}


@pytest.mark.postgres
def test_bulk_on_postgresql_writes_what_the_services_write(service_url, pg_url):
    with small_batches():
        run.seed(pg_url, "tiny", SEED, ANCHOR, "bulk")
    _assert_same(dumped(service_url), dumped(pg_url))
    engine = make_engine(pg_url)
    assert schema_drift(engine) == []  # the load's dropped foreign keys and indexes are back
    with engine.connect() as conn:
        # JSON columns hold the text psycopg's Json dumper would have sent (PostgreSQL keeps it as is).
        stored = conn.execute(text("SELECT modifiers::text FROM claim_lines WHERE modifiers::text <> '[]'")).all()
        assert stored and all(t == json.dumps(json.loads(t)) for t, in stored)
    engine.dispose()
