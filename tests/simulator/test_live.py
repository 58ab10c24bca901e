"""Live mode drives the real API: bookings through to payments appear in the store."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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


@pytest.fixture(scope="module")
def live_api(tmp_path_factory, low_limit):
    """A tiny practice seeded up to today, served by the real app; yields its engine and a client."""
    url = seed_sqlite(tmp_path_factory.mktemp("live") / "ops.db", anchor=date.today())
    engine = make_engine(url)
    factory = session_factory(engine)
    with factory() as session:
        create_user(session, UserCreate(username="live-admin", password="live-admin-pass-1", role="admin"))
        session.commit()
    app = create_app()

    def _session():
        with factory() as session:
            yield session

    app.dependency_overrides[get_session] = _session
    with TestClient(app) as client:
        yield engine, client
    engine.dispose()


@pytest.mark.slow
def test_live_mode_runs_the_practice_through_the_api(live_api):
    engine, client = live_api
    before = _counts(engine)
    sim = LiveSimulator("http://testserver", "live-admin", "live-admin-pass-1", rate=60, client=client)
    sim.run(duration=6)
    after = _counts(engine)
    assert sim.created.get("appointments", 0) > 0 and sim.created.get("remittances", 0) > 0, (sim.created, sim.errors)
    # It books free slots (templates in force, less bookings and time off) instead of collecting 409s.
    assert sim.errors <= 0.02 * sim.requests, (sim.errors, sim.requests)
    # Every request is paced, slot discovery and patient registration included: no bursts over the rate.
    assert sim.requests <= 60 * sim.elapsed + 1, (sim.requests, sim.elapsed)
    assert after["Appointment"] - before["Appointment"] == sim.created["appointments"]
    assert after["Claim"] > before["Claim"] and after["Encounter"] > before["Encounter"]
    assert after["OutboxEvent"] > before["OutboxEvent"]


@pytest.mark.slow
def test_a_live_run_that_crosses_midnight_opens_the_providers_again(live_api):
    """A weekend has no template hours, so a provider gets extra hours once that day; once they are
    booked, the day is full. The next local day the provider can be opened again (a 15-minute run
    at 05:00 UTC stopped with 'no provider can be booked today' when this was once per run)."""
    _, client = live_api
    now = [datetime.now(UTC)]
    sim = LiveSimulator("http://testserver", "live-admin", "live-admin-pass-1", rate=1000, client=client,
                        clock=lambda: now[0])
    sim._login()
    sim._discover()
    assert len(sim.providers) == 1 and len(sim.facilities) == 1  # the tiny practice
    tz = ZoneInfo(next(iter(sim.facilities.values()))["timezone"])
    today = datetime.now(tz).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 + 7)  # a weekend with no bookings yet
    now[0] = datetime.combine(saturday, time(23, 50), tz).astimezone(UTC)
    with pytest.raises(RuntimeError, match="no provider can be booked today"):
        for _ in range(200):  # the extra hours hold 71 slots
            sim._book()
    saturdays = sim.created["appointments"]
    assert 60 <= saturdays <= 71, sim.created

    now[0] += timedelta(minutes=20)  # 00:10 on Sunday
    sim._book()
    assert sim.created["appointments"] == saturdays + 1, (sim.created, sim.errors)
    assert {start.astimezone(tz).date() for _, _, start in sim.slots} == {saturday + timedelta(days=1)}
