"""The ops_api fixtures (`backend`, `db`, `app`, `client`, `make`, `auth`, `admin`) for the security suite.

The stores are this suite's own (schema `pms_test_sec_<worker>_<pid>`, file `ops-sec_<worker>.db`), so
the security tests can share an xdist worker with tests/ops_api without dropping its schema.
"""

import pytest

from tests.ops_api.conftest import (Backend, admin, app, auth, backend, backends, client, db,  # noqa: F401
                                    empty_backend, make)


@pytest.fixture(scope="session")
def store_tag(worker_id) -> str:
    return f"sec_{worker_id}"


@pytest.fixture
def sqlite_backend(backends, tmp_path_factory, store_tag) -> Backend:
    """SQLite only: for the property-based runs, where PostgreSQL would only add time."""
    return empty_backend("sqlite", backends, tmp_path_factory, store_tag)
