"""Live operational-store fixtures: every API test runs on SQLite and on the real PostgreSQL.

Each backend is migrated once per worker with Alembic (as in production), then every table is
emptied between tests. PostgreSQL gets a schema of its own per xdist worker.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_api import migrations
from ops_api.db import get_session, make_engine, session_factory
from ops_api.main import create_app
from ops_api.models import Base
from ops_api.security import create_access_token
from tests.ops_api import factories

PG_BASE_URL = os.environ.get("PMS_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


def schema_name(worker: str) -> str:
    """Unique per worker and process, so concurrent runs on one server never share tables."""
    return f"pms_test_{worker}_{os.getpid()}"


def _pg_url(schema: str) -> str:
    return f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"


@dataclass
class Backend:
    name: str
    url: str
    engine: Engine


def _create_backend(name: str, worker: str, tmp_dir) -> Backend:
    if name == "sqlite":
        url = f"sqlite:///{tmp_dir}/ops-{worker}.db"
    else:
        schema = schema_name(worker)
        admin = make_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        url = _pg_url(schema)
    migrations.upgrade(url)
    return Backend(name, url, make_engine(url))


@pytest.fixture(scope="session")
def backends(tmp_path_factory, worker_id) -> Iterator[dict[str, Backend]]:
    created: dict[str, Backend] = {}
    yield created
    for backend in created.values():
        backend.engine.dispose()
        if backend.name == "postgres":
            admin = make_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema_name(worker_id)} CASCADE"))
            admin.dispose()


def truncate_all(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text("DELETE FROM sqlite_sequence"))  # restart AUTOINCREMENT counters


@pytest.fixture(params=BACKENDS)
def backend(request, backends, tmp_path_factory, worker_id) -> Iterator[Backend]:
    """The operational store, empty, on each backend in turn."""
    name = request.param
    if name not in backends:
        backends[name] = _create_backend(name, worker_id, tmp_path_factory.mktemp("db"))
    be = backends[name]
    truncate_all(be.engine)
    yield be


@pytest.fixture
def db(backend) -> Iterator[Session]:
    """A session for arranging and inspecting data directly."""
    with session_factory(backend.engine)() as session:
        yield session


@pytest.fixture
def app(backend):
    app = create_app()
    factory = session_factory(backend.engine)

    def _session():
        with factory() as session:
            yield session

    app.dependency_overrides[get_session] = _session
    return app


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def make(db) -> factories.Factory:
    """Builders for valid rows (facility, provider, patient, ...), written through the service layer."""
    return factories.Factory(db)


@pytest.fixture
def auth(make):
    """`auth(role, facilities=None, provider=None)` → Authorization headers for a new user of that role."""

    def _auth(role: str = "admin", facilities=None, provider=None) -> dict:
        user = make.user(role, facilities=facilities, provider=provider)
        return {"Authorization": f"Bearer {create_access_token(user.id, user.role.value)}"}

    return _auth


@pytest.fixture
def admin(auth) -> dict:
    return auth("admin")
