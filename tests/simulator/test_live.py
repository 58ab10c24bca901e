"""Live mode drives the real API: bookings through to payments appear in the store."""

from datetime import date

import pytest

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ops_api.db import get_session, make_engine, session_factory
from ops_api.main import create_app
from ops_api.models import Appointment, Claim, Encounter, OutboxEvent, Payment
from ops_api.schemas.users import UserCreate
from ops_api.services.users import create_user
from simulator.live import LiveSimulator
from tests.simulator.conftest import seed_sqlite


def _counts(engine) -> dict:
    with engine.connect() as conn:
        return {m.__name__: conn.execute(select(func.count()).select_from(m)).scalar_one()
                for m in (Appointment, Encounter, Claim, Payment, OutboxEvent)}


@pytest.mark.slow
def test_live_mode_runs_the_practice_through_the_api(tmp_path, low_limit):
    url = seed_sqlite(tmp_path / "ops.db", anchor=date.today())
    engine = make_engine(url)
    factory = session_factory(engine)
    with factory() as session:
        create_user(session, UserCreate(username="live-admin", password="live-admin-pass-1", role="admin"))
        session.commit()
    before = _counts(engine)
    app = create_app()

    def _session():
        with factory() as session:
            yield session

    app.dependency_overrides[get_session] = _session
    with TestClient(app) as client:
        sim = LiveSimulator("http://testserver", "live-admin", "live-admin-pass-1", rate=60, client=client)
        sim.run(duration=6)
    after = _counts(engine)
    engine.dispose()
    assert sim.created.get("appointments", 0) > 0 and sim.created.get("remittances", 0) > 0, (sim.created, sim.errors)
    # It books free slots (templates in force, less bookings and time off) instead of collecting 409s.
    assert sim.errors <= 0.02 * sim.requests, (sim.errors, sim.requests)
    # Every request is paced, slot discovery and patient registration included: no bursts over the rate.
    assert sim.requests <= 60 * sim.elapsed + 1, (sim.requests, sim.elapsed)
    assert after["Appointment"] - before["Appointment"] == sim.created["appointments"]
    assert after["Claim"] > before["Claim"] and after["Encounter"] > before["Encounter"]
    assert after["OutboxEvent"] > before["OutboxEvent"]
