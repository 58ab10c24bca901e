"""A person's path in a real browser: headless Debian chromium signs in through the form, sees the
executive page completely drawn, and saves a custom dashboard that lands in ClickHouse."""

from __future__ import annotations

import pytest

from dashboards import ui
from pms.settings import get_settings
from tests.dashboards.browser import CHROMIUM, Browser, StreamlitServer, chromium_available, open_page, sign_in
from tests.dashboards.seed import AS_OF
from tests.dashboards.support import PASSWORD

pytestmark = [
    pytest.mark.warehouse,
    pytest.mark.skipif(not chromium_available(), reason=f"{CHROMIUM} is not installed: `make test` installs Debian's "
                                                        "chromium (or: apt-get install -y chromium)"),
]


@pytest.fixture(scope="module")
def served(stack):
    server = StreamlitServer({"CLICKHOUSE_URL": stack.clickhouse_url, "PMS_API_URL": stack.api.url,
                              "PMS_DATA_DIR": str(get_settings().pms_data_dir)})
    yield server
    server.stop()


def test_sign_in_read_the_executive_page_and_save_a_dashboard(stack, served):
    with Browser() as browser:
        sign_in(browser, served.url, "exec", PASSWORD)
        assert browser.evaluate("document.querySelector('h1').innerText") == "Executive overview"
        tiles = browser.evaluate("Object.fromEntries([...document.querySelectorAll('[data-testid=stMetric]')].map("
                                 "m => [m.querySelector('[data-testid=stMetricLabel]').innerText.trim(), "
                                 "m.querySelector('[data-testid=stMetricValue]').innerText.trim()]))")
        paid = stack.scalar("select sum(amount) from marts.fct_payments where received_date between "
                            "{d:Date} - 89 and {d:Date}", d=AS_OF)
        assert tiles["Payments received"] == ui.money_short(paid)
        assert len(tiles) == 10, tiles
        drawn = browser.evaluate("[...document.querySelectorAll('[data-testid=stVegaLiteChart]')]"
                                 ".filter(c => c.querySelector('canvas, svg.marks')).length")
        assert drawn == 6
        assert "Traceback" not in browser.text() and "Error" not in browser.text()

        open_page(browser, "Dashboard builder")
        browser.type_into("input[aria-label='Name']", "Browser board")
        browser.click_button("Save dashboard")
        browser.wait_for("document.body.innerText.includes('Saved “Browser board”')", what="the saved message")
        saved = stack.client().query(
            "select owner_username, definition from app.saved_dashboards final where name = 'Browser board' "
            "and is_deleted = 0").result_rows
        assert saved and saved[0][0] == "exec" and '"mart": "fct_kpi_daily"' in saved[0][1]

        open_page(browser, "My dashboards")
        assert "Browser board" in browser.text()
        assert browser.evaluate("[...document.querySelectorAll('[data-testid=stVegaLiteChart]')]"
                                ".filter(c => c.querySelector('canvas, svg.marks')).length") >= 1
