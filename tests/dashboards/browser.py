"""Headless Debian chromium driven over the Chrome DevTools Protocol, and the Streamlit server it opens.

No webdriver: chromium's own DevTools websocket (``websockets`` is already installed as a Streamlit
dependency) is enough to navigate, type, click, wait for a complete render and take screenshots.
Used by the browser test, scripts/screenshots.py and benchmarks/dashboard_bench.py.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

CHROMIUM = os.environ.get("PMS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio"]
APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy

# The app has finished a run: connected, script not running, and every Vega chart drawn.
RENDERED_JS = """(() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-stale="true"]')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
  return charts.every(c => c.querySelector('canvas, svg.marks'));
})()"""


def chromium_available() -> bool:
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StreamlitServer:
    """``streamlit run dashboards/app.py`` as a subprocess with the given environment."""

    def __init__(self, env: dict[str, str], port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
        cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
               "--server.port", str(self.port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal"]
        self.process = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited {self.process.returncode}:\n{self.output()}")
            try:
                with _OPENER.open(f"{self.url}/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"streamlit did not answer in 60 s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        Path(self.log.name).unlink(missing_ok=True)


class Browser:
    """One headless chromium with a fresh profile, and its first page over CDP."""

    def __init__(self, width: int = 1280, height: int = 900):
        if not chromium_available():
            raise RuntimeError(f"{CHROMIUM} is missing (apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="pms-chromium-")
        self.process = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        port = self._devtools_port()
        with _OPENER.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            pages = [t for t in json.loads(response.read()) if t["type"] == "page"]
        self.ws = connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=20)
        self._ids = itertools.count(1)
        self.width, self.height = width, height
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.viewport(width, height)

    def _devtools_port(self) -> int:
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.process.returncode}")
            if marker.is_file() and (text := marker.read_text().split()):
                return int(text[0])
            time.sleep(0.05)
        raise RuntimeError("chromium did not open its DevTools port")

    def send(self, method: str, timeout: float = 30, **params) -> dict:
        message_id = next(self._ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=mobile)

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def wait_for(self, expression: str, timeout: float = 30, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.05)
        raise TimeoutError(f"waited {timeout:.0f} s for {what or expression[:100]}")

    def wait_rendered(self, timeout: float = 60, settle: float = 0.3) -> None:
        """Until the run is over and every chart is drawn, twice ``settle`` seconds apart (reruns)."""
        deadline = time.monotonic() + timeout
        while True:
            self.wait_for(RENDERED_JS, timeout=max(1.0, deadline - time.monotonic()), what="a complete render")
            time.sleep(settle)
            if self.evaluate(RENDERED_JS):
                return

    def text(self) -> str:
        return self.evaluate("document.body.innerText") or ""

    def type_into(self, selector: str, text: str, enter: bool = False) -> None:
        self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.focus(); e.select(); }})()")
        self.send("Input.insertText", text=text)
        if enter:
            self.press("Enter")

    def press(self, key: str) -> None:
        codes = {"Enter": 13, "Tab": 9}
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=key,
                      windowsVirtualKeyCode=codes[key], **({"text": "\r"} if key == "Enter" and kind == "keyDown" else {}))

    def click_button(self, label: str) -> None:
        """Click the first visible button labelled ``label`` with real mouse events at its centre
        (so the field being edited loses focus first and commits its value, as for a person)."""
        box = self.evaluate(f"""(() => {{
            const b = [...document.querySelectorAll('button')].find(b => b.innerText.trim() === {json.dumps(label)}
                                                                     && b.offsetParent !== null);
            if (!b) return null; b.scrollIntoView({{block: 'center'}});
            const r = b.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()""")
        if not box:
            raise RuntimeError(f"no button {label!r} on the page")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def screenshot(self, path: Path, full_page: bool = True) -> None:
        """A PNG of the page; Streamlit scrolls inside its main block, so grow the viewport to fit it first."""
        if full_page:
            height = self.evaluate("""Math.max(...[...document.querySelectorAll(
                '[data-testid="stMain"], [data-testid="stAppViewContainer"], [data-testid="stSidebar"] > div')]
                .map(e => e.scrollHeight), window.innerHeight)""")
            self.viewport(self.width, int(height))
            time.sleep(0.5)
            self.wait_rendered()
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        if full_page:
            self.viewport(self.width, self.height)

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- app flows shared by the browser test, the screenshots and the benchmark -------------------------------

def sign_in(browser: Browser, url: str, username: str, password: str, timeout: float = 60) -> None:
    """Open the app, fill the sign-in form like a person (typing, Enter) and wait for the first page."""
    browser.goto(url)
    browser.wait_for("!!document.querySelector('input[type=password]')", timeout=timeout, what="the sign-in form")
    browser.wait_rendered(timeout=timeout)
    browser.type_into("input[aria-label='Username']", username)
    browser.type_into("input[type=password]", password, enter=True)
    browser.wait_for("!document.querySelector('input[type=password]')", timeout=timeout, what="sign-in to finish")
    browser.wait_rendered(timeout=timeout)


def open_page(browser: Browser, title: str, timeout: float = 60) -> None:
    """Click a page in the sidebar navigation (in-app: the session, and so the sign-in, is kept)."""
    found = browser.evaluate(f"""(() => {{
        const link = [...document.querySelectorAll('[data-testid="stSidebarNav"] a, [data-testid="stSidebarNavLink"]')]
            .find(a => a.innerText.trim() === {json.dumps(title)});
        if (!link) return false; link.click(); return true; }})()""")
    if not found:
        raise RuntimeError(f"no page {title!r} in the navigation")
    browser.wait_for(f"[...document.querySelectorAll('h1')].some(h => h.innerText.trim() === {json.dumps(title)})",
                     timeout=timeout, what=f"the {title} page")
    browser.wait_rendered(timeout=timeout)
