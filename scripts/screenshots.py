"""`make screenshots`: a PNG of every dashboard page under docs/screenshots/, taken in headless chromium.

By default it builds its own stack in a temporary directory (embedded warehouse, the tests' seeded
two-clinic practice, the ops API for sign-in, Streamlit), so it needs nothing running. To shoot a running
deployment instead (say `make demo`), pass --clickhouse-url, --api-url, --username and --password.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.dashboards.browser import Browser, StreamlitServer, chromium_available, open_page, sign_in  # noqa: E402

PAGES = [("executive", "Executive overview"), ("revenue_cycle", "Revenue cycle"),
         ("scheduling", "Scheduling & productivity"), ("forecasts", "Forecasts"),
         ("builder", "Dashboard builder"), ("my_dashboards", "My dashboards"), ("sql", "SQL")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--clickhouse-url")
    parser.add_argument("--api-url")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    if not chromium_available():
        print("chromium is missing: apt-get install -y chromium (make screenshots does this)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if args.clickhouse_url and args.api_url and args.password:
            env = {"CLICKHOUSE_URL": args.clickhouse_url, "PMS_API_URL": args.api_url}
            username, password = args.username, args.password
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pms-screenshots-")))
            os.environ["PMS_DATA_DIR"] = str(root / "var")
            from tests.dashboards.support import PASSWORD, seeded_stack

            seeded = seeded_stack(root)
            stack.callback(seeded.close)
            env = {"CLICKHOUSE_URL": seeded.clickhouse_url, "PMS_API_URL": seeded.api.url,
                   "PMS_DATA_DIR": str(seeded.data_dir)}
            username, password = "admin", PASSWORD
        server = StreamlitServer(env)
        stack.callback(server.stop)
        browser = stack.enter_context(Browser(width=args.width, height=900))
        started = time.monotonic()
        browser.goto(server.url)
        browser.wait_for("!!document.querySelector('input[type=password]')", timeout=60, what="the sign-in form")
        browser.wait_rendered()
        browser.screenshot(args.out / "sign_in.png", full_page=False)
        sign_in(browser, server.url, username, password)
        for name, title in PAGES:
            open_page(browser, title)
            if name == "builder":
                browser.type_into("input[aria-label='Name']", "Payments by month")
                browser.click_button("Save dashboard")
                browser.wait_for("document.body.innerText.includes('Saved')", what="the saved message")
                browser.wait_rendered()
            if name == "sql":
                browser.type_into("textarea", "select toStartOfMonth(date) as month, sum(payments_received) as "
                                              "payments\nfrom marts.fct_kpi_daily group by month order by month")
                browser.click_button("Run")
                browser.wait_for("!!document.querySelector('[data-testid=stDataFrame]')", what="the query result")
                browser.wait_rendered()
            browser.screenshot(args.out / f"{name}.png")
            print(f"{args.out / (name + '.png')}")
        open_page(browser, "Executive overview")
        browser.evaluate("(() => { const b = document.querySelector("
                         "'[data-testid=stSidebarCollapseButton] button'); if (b) b.click(); })()")
        browser.width = 390
        browser.viewport(390, 844, mobile=True)
        time.sleep(1.0)
        browser.wait_rendered()
        browser.screenshot(args.out / "executive_phone.png")
        print(f"{args.out / 'executive_phone.png'} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
