"""Live operational-store fixtures: every API test runs on SQLite and on the real PostgreSQL.

Each backend is migrated once per worker with Alembic (as in production), then every table is
emptied between tests. PostgreSQL gets a schema of its own per xdist worker.
"""

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
from tests.pg import create_schema, drop_schema, schema_name

BACKENDS = ["sqlite", "postgres"]


@dataclass
class Backend:
    name: str
    url: str
    engine: Engine


def _create_backend(name: str, worker: str, tmp_dir) -> Backend:
    if name == "sqlite":
        url = f"sqlite:///{tmp_dir}/ops-{worker}.db"
    else:
        url = create_schema(schema_name(f"pms_test_{worker}"))
    migrations.upgrade(url)
    return Backend(name, url, make_engine(url))


@pytest.fixture(scope="session")
def store_tag(worker_id) -> str:
    """Names this suite's stores; another suite overrides it to get stores of its own on the same worker."""
    return worker_id


@pytest.fixture(scope="session")
def backends(store_tag) -> Iterator[dict[str, Backend]]:
    created: dict[str, Backend] = {}
    yield created
    for backend in created.values():
        backend.engine.dispose()
        if backend.name == "postgres":
            drop_schema(schema_name(f"pms_test_{store_tag}"))


def truncate_all(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text("DELETE FROM sqlite_sequence"))  # restart AUTOINCREMENT counters


def empty_backend(name: str, backends, tmp_path_factory, store_tag) -> Backend:
    """The named store, created and migrated on first use, emptied every time."""
    if name not in backends:
        backends[name] = _create_backend(name, store_tag, tmp_path_factory.mktemp("db"))
    truncate_all(backends[name].engine)
    return backends[name]


@pytest.fixture(params=BACKENDS)
def backend(request, backends, tmp_path_factory, store_tag) -> Backend:
    """The operational store, empty, on each backend in turn."""
    return empty_backend(request.param, backends, tmp_path_factory, store_tag)


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
