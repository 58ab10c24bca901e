"""The ops_api fixtures (`backend`, `db`, `app`, `client`, `make`, `auth`, `admin`) for the security suite.

The stores are this suite's own (schema `pms_test_sec_<worker>_<pid>`, file `ops-sec_<worker>.db`), so
the security tests can share an xdist worker with tests/ops_api without dropping its schema.
"""

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from ops_api.db import make_engine
from tests.ops_api.conftest import (BACKENDS, PG_BASE_URL, Backend, _create_backend, admin, app, auth,  # noqa: F401
                                    client, db, make, schema_name, truncate_all)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Real argon2 hashes at minimal cost: production cost (~0.3 s a user) would dominate the suite.
    Verification reads the parameters from the hash, so signing in still works."""
    monkeypatch.setattr("ops_api.services.users.hash_password",
                        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash)


@pytest.fixture(scope="session")
def backends(tmp_path_factory, worker_id) -> Iterator[dict[str, Backend]]:
    created: dict[str, Backend] = {}
    yield created
    for backend in created.values():
        backend.engine.dispose()
        if backend.name == "postgres":
            admin_engine = make_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
            with admin_engine.connect() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema_name(f'sec_{worker_id}')} CASCADE"))
            admin_engine.dispose()


def _backend(name: str, backends, tmp_path_factory, worker_id) -> Backend:
    if name not in backends:
        backends[name] = _create_backend(name, f"sec_{worker_id}", tmp_path_factory.mktemp("db"))
    truncate_all(backends[name].engine)
    return backends[name]


@pytest.fixture(params=BACKENDS)
def backend(request, backends, tmp_path_factory, worker_id) -> Backend:
    """The operational store, empty, on each backend in turn."""
    return _backend(request.param, backends, tmp_path_factory, worker_id)


@pytest.fixture
def sqlite_backend(backends, tmp_path_factory, worker_id) -> Backend:
    """SQLite only: for the property-based runs, where PostgreSQL would only add time."""
    return _backend("sqlite", backends, tmp_path_factory, worker_id)
