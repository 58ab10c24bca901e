"""Test set-up for the dashboards: the real ops API on a free port (sign-in), its users, and the
environment that points the dashboards at a warehouse and an API. Also used by
benchmarks/dashboard_bench.py and scripts/screenshots.py, which need the same stack.

The API is test set-up here (the dashboards themselves never import ops_api): sign-in goes over
HTTP exactly as in production.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from clickhouse_connect.driver.client import Client
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from dashboards import auth
from dashboards.config import get_dashboard_settings
from ops_api import migrations
from ops_api.db import get_session, make_engine, session_factory
from ops_api.main import create_app
from ops_api.models import User
from ops_api.schemas.org import FacilityCreate
from ops_api.schemas.users import UserCreate
from ops_api.services import org
from ops_api.services.users import create_user
from pms.settings import get_settings
from tests.dashboards import seed
from warehouse.client import get_client
from warehouse.embedded.process import ServerHandle, start_server

APP_PATH = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
PASSWORD = "dashboards-test-pw-42"
# username -> (role, scoped to the first facility?)
USERS = {
    "exec": ("executive", False),
    "analyst": ("analyst", False),
    "admin": ("admin", False),
    "east_analyst": ("analyst", True),
    "biller": ("biller", False),
}


@dataclass
class ApiServer:
    """The operational API served by uvicorn in a thread, on a socket bound to a free port."""

    url: str
    engine: Engine
    server: uvicorn.Server
    thread: threading.Thread
    facility_ids: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.engine.dispose()


def start_api(ops_url: str, facility_ids: list[str] | None = None) -> ApiServer:
    """Migrate ``ops_url``, make sure it has facilities (two, if none are given), add USERS, serve the API."""
    migrations.upgrade(ops_url)
    engine = make_engine(ops_url)
    sessions = session_factory(engine)
    with sessions() as session:
        if not facility_ids:
            facility_ids = [str(org.create_facility(session, FacilityCreate(name=name, timezone="America/New_York")).id)
                            for name in ("East Clinic", "West Clinic")]
            session.commit()
        existing = set(session.scalars(select(User.username)))
        for username, (role, scoped) in USERS.items():
            if username in existing:  # a stack reused by the benchmark or the screenshots
                continue
            create_user(session, UserCreate(username=username, password=PASSWORD, role=role,
                                            facility_ids=[facility_ids[0]] if scoped else []))
        session.commit()

    app = create_app()

    def _session():
        with sessions() as session:
            yield session

    app.dependency_overrides[get_session] = _session
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test API did not start")
        time.sleep(0.02)
    return ApiServer(f"http://127.0.0.1:{sock.getsockname()[1]}", engine, server, thread, list(facility_ids))


@dataclass
class Stack:
    clickhouse_url: str
    api: ApiServer
    seeded: seed.Seeded | None
    viewers: dict[str, auth.Viewer]

    def client(self, **kw) -> Client:
        return get_client(url=self.clickhouse_url, **kw)

    def scalar(self, sql: str, **params):
        ch = self.client()
        try:
            return ch.query(sql, parameters=params or None).result_rows[0][0]
        finally:
            ch.close()

    def app(self, username: str | None = None) -> AppTest:
        """An AppTest of the whole app, already signed in as ``username`` (a Viewer from the real API)."""
        at = AppTest.from_file(str(APP_PATH), default_timeout=90)
        if username:
            at.session_state["viewer"] = self.viewers[username]
        return at


def sign_in_all(api_url: str) -> dict[str, auth.Viewer]:
    """A Viewer per dashboard user, each from a real sign-in through the API."""
    return {name: auth.sign_in(name, PASSWORD, api_url) for name, (role, _) in USERS.items()
            if role in auth.DASHBOARD_ROLES}


@contextmanager
def environment(clickhouse_url: str, api_url: str) -> Iterator[None]:
    """Point pms settings (CLICKHOUSE_URL) and the dashboards' settings (PMS_API_URL) at a test stack."""
    saved = {k: os.environ.get(k) for k in ("CLICKHOUSE_URL", "PMS_API_URL")}
    os.environ.update(CLICKHOUSE_URL=clickhouse_url, PMS_API_URL=api_url)
    get_settings.cache_clear()
    get_dashboard_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        get_dashboard_settings.cache_clear()


def sign_in(at, username: str, password: str = PASSWORD):
    """Sign an AppTest in through the form (and so through the API); returns it after the rerun."""
    at.run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click()
    return at.run()


@dataclass
class SeededStack:
    """A complete stack in one directory for scripts: warehouse, seeded marts, API. ``close()`` stops it."""

    clickhouse_url: str
    api: ApiServer
    data_dir: Path
    warehouse: ServerHandle

    def close(self) -> None:
        self.api.stop()
        self.warehouse.stop()


def seeded_stack(root: Path) -> SeededStack:
    """The tests' hand-made practice (seed.py) behind a real API and embedded warehouse, under ``root``.

    ``PMS_DATA_DIR`` must point at ``root / "var"`` for the model cards to show; scripts set it first.
    """
    handle = start_server(root / "warehouse", user="dashboards", password="dashboards-pw-1")
    try:
        url = f"http://dashboards:dashboards-pw-1@{handle.host}:{handle.port}/default"
        api = start_api(f"sqlite:///{root / 'ops.db'}")
        client = get_client(url=url)
        seed.build(client, api.facility_ids, models_dir=root / "var" / "models")
        client.close()
    except BaseException:
        handle.stop()
        raise
    return SeededStack(url, api, root / "var", handle)
