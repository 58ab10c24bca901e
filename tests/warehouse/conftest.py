"""Warehouse fixtures: the embedded server as a subprocess, and a real ClickHouse when one is given.

Conformance tests take the ``target`` fixture and run once per server: always against the
embedded warehouse (started per xdist worker on a free port with a temporary data directory),
and also against ``CLICKHOUSE_TEST_URL`` (``http://user:password@host:8123``) when that is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import clickhouse_connect
import httpx
import pytest
from clickhouse_connect.driver.client import Client

from warehouse.embedded.process import ServerHandle, start_server

TEST_USER = "pms_test"
TEST_PASSWORD = "test-password-7f3c"


@dataclass
class Target:
    """A ClickHouse HTTP endpoint under test, with the credentials it accepts."""

    name: str
    host: str
    port: int
    user: str
    password: str
    handle: ServerHandle | None = None

    @property
    def embedded(self) -> bool:
        return self.handle is not None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self, **kwargs) -> Client:
        kwargs.setdefault("username", self.user)
        kwargs.setdefault("password", self.password)
        return clickhouse_connect.get_client(host=self.host, port=self.port, **kwargs)

    def http(self, auth: bool = True) -> httpx.Client:
        """A raw HTTP client (no proxies from the environment) for protocol-level checks."""
        return httpx.Client(
            base_url=self.url, auth=(self.user, self.password) if auth else None, trust_env=False, timeout=30
        )


def _target_names() -> list[str]:
    return ["embedded", "external"] if os.environ.get("CLICKHOUSE_TEST_URL") else ["embedded"]


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory) -> Iterator[ServerHandle]:
    """The embedded warehouse for this xdist worker; stopping it must be clean (exit code 0)."""
    handle = start_server(tmp_path_factory.mktemp("warehouse"), user=TEST_USER, password=TEST_PASSWORD)
    yield handle
    assert handle.stop() == 0, handle.log_path.read_text()


@pytest.fixture(scope="session", params=_target_names())
def target(request) -> Target:
    if request.param == "embedded":
        handle = request.getfixturevalue("embedded_server")
        return Target("embedded", handle.host, handle.port, TEST_USER, TEST_PASSWORD, handle)
    parts = urlsplit(os.environ["CLICKHOUSE_TEST_URL"])
    return Target(
        "external", parts.hostname or "127.0.0.1", parts.port or 8123,
        unquote(parts.username or "default"), unquote(parts.password or ""),
    )


@pytest.fixture
def database(target: Target) -> Iterator[str]:
    """A database of this test's own, dropped afterwards (servers are shared by a whole worker)."""
    name = f"pms_test_{uuid.uuid4().hex[:12]}"
    admin = target.client()
    admin.command(f"CREATE DATABASE {name}")
    yield name
    admin.command(f"DROP DATABASE IF EXISTS {name}")
    admin.close()


@pytest.fixture
def client(target: Target, database: str) -> Iterator[Client]:
    ch = target.client(database=database)
    yield ch
    ch.close()
