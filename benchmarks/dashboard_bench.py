"""Time to a complete render of the executive overview, cold and warm; appends to docs/benchmarks.md.

Targets: < 3 s cold, < 1.5 s warm. "Complete" means what a person sees: every tile and all six
charts drawn in headless chromium (the Streamlit run finished, no stale elements, each Vega chart
has its canvas). Cold is a freshly started Streamlit server (no query cached, the browser has not
loaded Vega yet), timed from submitting the sign-in form since the executive page is where sign-in
lands; the API's password check inside that is timed on its own and reported, with the cold time
less it. Warm is the same session coming back to the page from another (queries answered from the
cache), timed from the click. The server-side script time (AppTest, no browser) is reported too.

By default the stack is built in a temporary directory from the tests' seeded practice; pass
--clickhouse-url, --api-url, --username and --password to measure a running deployment instead.

    python -m benchmarks.dashboard_bench [--runs 5] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.machine import machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REPORT = ROOT / "docs" / "benchmarks.md"
COLD_TARGET, WARM_TARGET = 3.0, 1.5
EXECUTIVE_SHOWN = "[...document.querySelectorAll('h1')].some(h => h.innerText.trim() === 'Executive overview')"


def browser_times(env: dict, username: str, password: str, runs: int) -> dict[str, list[float]]:
    """Cold: a new server process; from submitting the sign-in form to the executive page (the landing
    page) completely drawn: no query cached, Vega's code not yet loaded in the browser. Warm: the same
    session going back to the page from another one."""
    from tests.dashboards.browser import Browser, StreamlitServer, open_page

    cold, warm = [], []
    for _ in range(max(1, runs // 2)):
        server = StreamlitServer(env)
        try:
            with Browser(width=1400, height=900) as browser:
                browser.goto(server.url)
                browser.wait_for("!!document.querySelector('input[type=password]')", timeout=60, what="sign-in form")
                browser.wait_rendered()
                browser.type_into("input[aria-label='Username']", username)
                started = time.perf_counter()
                browser.type_into("input[type=password]", password, enter=True)
                browser.wait_for(EXECUTIVE_SHOWN, timeout=60, what="the executive page")
                browser.wait_rendered(settle=0.0)
                cold.append(time.perf_counter() - started)
                for _ in range(runs):
                    open_page(browser, "My dashboards")
                    started = time.perf_counter()
                    browser.evaluate("""[...document.querySelectorAll('[data-testid="stSidebarNav"] a')]
                                        .find(a => a.innerText.trim() === 'Executive overview').click()""")
                    browser.wait_for(EXECUTIVE_SHOWN, timeout=60, what="the executive page")
                    browser.wait_rendered(settle=0.0)
                    warm.append(time.perf_counter() - started)
        finally:
            server.stop()
    return {"cold": cold, "warm": warm}


def sign_in_times(api_url: str, username: str, password: str, runs: int) -> list[float]:
    from dashboards import auth

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        auth.sign_in(username, password, api_url)
        times.append(time.perf_counter() - started)
    return times


def script_times(api_url: str, username: str, password: str, runs: int) -> dict[str, list[float]]:
    """The executive page's script run alone (queries + chart specs), in-process with AppTest."""
    from streamlit.testing.v1 import AppTest

    from dashboards import auth, data

    viewer = auth.sign_in(username, password, api_url)
    cold, warm = [], []
    for _ in range(runs):
        data.clear_cache()
        for bucket in (cold, warm):
            at = AppTest.from_file(str(ROOT / "dashboards" / "app.py"), default_timeout=120)
            at.session_state["viewer"] = viewer
            started = time.perf_counter()
            at.run()
            bucket.append(time.perf_counter() - started)
            if at.exception:
                raise RuntimeError(at.exception[0].value)
    return {"cold": cold, "warm": warm}


def describe_data(clickhouse_url: str) -> str:
    from warehouse.client import get_client

    client = get_client(url=clickhouse_url)
    try:
        counts = {t: client.query(f"select count() from marts.{t}").result_rows[0][0]
                  for t in ("fct_appointments", "fct_claims", "fct_payments", "fct_ar_aging_daily", "fct_kpi_daily")}
        first, last = client.query("select min(date), max(date) from marts.fct_kpi_daily").result_rows[0]
    finally:
        client.close()
    return f"{first} to {last}; " + ", ".join(f"{t} {n:,} rows" for t, n in counts.items())


def main() -> int:
    parser = argparse.ArgumentParser(description="Executive overview render time, cold and warm")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clickhouse-url")
    parser.add_argument("--api-url")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password")
    parser.add_argument("--label", default="a running deployment", help="what the data is, for the report")
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to docs/benchmarks.md")
    args = parser.parse_args()
    started_at, where = datetime.now(UTC), machine()

    with ExitStack() as stack:
        if args.clickhouse_url and args.api_url and args.password:
            env = {"CLICKHOUSE_URL": args.clickhouse_url, "PMS_API_URL": args.api_url}
            username, password, source = args.username, args.password, args.label
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pms-dashboard-bench-")))
            os.environ["PMS_DATA_DIR"] = str(root / "var")
            from tests.dashboards.support import PASSWORD, seeded_stack

            seeded = seeded_stack(root)
            stack.callback(seeded.close)
            env = {"CLICKHOUSE_URL": seeded.clickhouse_url, "PMS_API_URL": seeded.api.url,
                   "PMS_DATA_DIR": str(seeded.data_dir)}
            username, password, source = "admin", PASSWORD, "the tests' seeded two-clinic practice (tests/dashboards/seed.py)"
        os.environ.update(env)
        from dashboards.config import get_dashboard_settings
        from pms.settings import get_settings
        from tests.dashboards.browser import chromium_available

        get_settings.cache_clear()
        get_dashboard_settings.cache_clear()
        data_note = describe_data(env["CLICKHOUSE_URL"])
        signing = sign_in_times(env["PMS_API_URL"], username, password, 3)
        script = script_times(env["PMS_API_URL"], username, password, args.runs)
        browser = browser_times(env, username, password, args.runs) if chromium_available() else None

    med = statistics.median
    rows = []
    if browser:
        rows.append(("browser, cold: fresh server, sign-in submitted → page complete (includes the sign-in)",
                     browser["cold"], ""))
        rows.append(("browser, cold: the same less the median API sign-in", [t - med(signing) for t in browser["cold"]],
                     f"< {COLD_TARGET:.1f} s"))
        rows.append(("browser, warm: navigating back to the page (cached queries)", browser["warm"],
                     f"< {WARM_TARGET:.1f} s"))
    rows.append(("script run only, cold caches (AppTest)", script["cold"], ""))
    rows.append(("script run only, warm caches (AppTest)", script["warm"], ""))
    rows.append(("sign-in through the API (not part of the above)", signing, ""))
    lines = [f"## dashboards: executive overview render ({started_at:%Y-%m-%d %H:%M} UTC)", "",
             f"Machine: {where}.", "", f"Data: {source}: {data_note}.", "",
             "| measurement | median | min | max | runs | target |", "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {med(v):.2f} s | {min(v):.2f} s | {max(v):.2f} s | {len(v)} | {target} |"
              for name, v, target in rows]
    if not browser:
        lines += ["", "chromium was not installed, so only the server-side script time was measured."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        existing = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n\nAppended by the benchmark scripts, newest last.\n"
        REPORT.write_text(existing.rstrip("\n") + "\n\n" + text)
        print(f"appended to {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
