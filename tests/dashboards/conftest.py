"""Dashboard fixtures: one stack per session (the real API for sign-in, an embedded warehouse with the
hand-made marts of seed.py), and AppTests signed in as each role.

Every test here that needs a stack is marked ``warehouse``. The hand-made stack takes seconds, so each
xdist worker builds its own rather than queueing every page test on one worker; the dbt-built one is
used by a single test.
Settings point at a stack only while a test uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from streamlit.testing.v1 import AppTest

from pms.settings import get_settings
from tests.dashboards import seed
from tests.dashboards.support import Stack, environment, sign_in_all, start_api
from warehouse.client import get_client
from warehouse.embedded.process import start_server

WH_USER, WH_PASSWORD = "pms_dash_test", "dash-test-password-9c2d"


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("dashboards")
    handle = start_server(root / "warehouse", user=WH_USER, password=WH_PASSWORD)
    api = start_api(f"sqlite:///{root / 'ops.db'}")
    url = f"http://{WH_USER}:{WH_PASSWORD}@{handle.host}:{handle.port}/default"
    try:
        client = get_client(url=url)
        seeded = seed.build(client, api.facility_ids, models_dir=get_settings().pms_data_dir / "models")
        client.close()
        yield Stack(url, api, seeded, sign_in_all(api.url))
    finally:
        api.stop()
        handle.stop()


@pytest.fixture
def app(stack) -> Iterator[Callable[[str | None], AppTest]]:
    """AppTests on the hand-made stack: settings point at it for this test only (another session stack,
    test_real_marts.py's, may live in the same worker)."""
    with environment(stack.clickhouse_url, stack.api.url):
        yield stack.app
