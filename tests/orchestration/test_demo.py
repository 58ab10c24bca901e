"""`pms demo` end to end, in a subprocess: a fresh data directory, free ports, the tiny practice.

It must seed, materialize, serve the API, the Dagster UI and the dashboards, then stop all of its
processes on SIGINT. The command is run as `python -m pms.demo` (the same Typer command `pms demo`
mounts), so the test does not depend on the CLI wiring.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration.processes import answers, descendants

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 600  # seconds: seed, dbt parse and build, training, three servers, on a busy 2-core machine


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _demo(data_dir: Path, ports: list[int], log: Path) -> subprocess.Popen:
    api, dagster, dashboards, warehouse = ports
    env = {k: v for k, v in os.environ.items() if k not in ("CLICKHOUSE_URL", "DATABASE_URL", "DAGSTER_HOME")}
    env.update(PMS_DATA_DIR=str(data_dir), PMS_DEMO_SCALE="tiny")
    args = [sys.executable, "-m", "pms.demo", "--api-port", str(api), "--dagster-port", str(dagster),
            "--dashboards-port", str(dashboards), "--warehouse-port", str(warehouse)]
    return subprocess.Popen(args, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


def _stop(demo: subprocess.Popen) -> None:
    """Whatever happened in the test: SIGINT as a user would, and SIGKILL for anything left after 90 s."""
    if demo.poll() is not None:
        return
    tree = descendants(demo.pid)
    demo.send_signal(signal.SIGINT)
    try:
        demo.wait(timeout=90)
    except subprocess.TimeoutExpired:
        for pid in [demo.pid, *tree]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        demo.wait()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_a_taken_port_fails_fast_and_clearly(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = [taken.getsockname()[1], *_free_ports(3)]
        log = tmp_path / "demo.log"
        demo = _demo(tmp_path / "data", ports, log)
        try:
            assert demo.wait(timeout=120) == 1
        finally:
            _stop(demo)
    assert f"port {ports[0]} on 127.0.0.1 is taken" in " ".join(log.read_text().split())
    assert not (tmp_path / "data" / "ops.db").exists()  # nothing was started or written


@pytest.mark.slow
@pytest.mark.warehouse
def test_demo_serves_everything_and_stops_cleanly(tmp_path):
    ports = _free_ports(4)
    api, dagster, dashboards, _ = ports
    urls = [f"http://127.0.0.1:{api}/docs", f"http://127.0.0.1:{dagster}/server_info",
            f"http://127.0.0.1:{dashboards}/_stcore/health"]
    log = tmp_path / "demo.log"
    demo = _demo(tmp_path / "data", ports, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (all(answers(u) for u in urls) and "Ctrl-C stops everything" in log.read_text()):
            assert demo.poll() is None, log.read_text()[-5000:]
            assert time.monotonic() < deadline, f"not up after {START_TIMEOUT}s:\n{log.read_text()[-5000:]}"
            time.sleep(2)
        assert "admin / spark-den-demo-1" in log.read_text()
        tree = descendants(demo.pid)
        assert len(tree) >= 6  # warehouse, API, replicator, webserver (+ code server), daemon, dashboards

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=90) == 0, log.read_text()[-5000:]
    finally:
        _stop(demo)
    time.sleep(1)
    assert [pid for pid in tree if _alive(pid)] == []
    assert not any(answers(u, timeout=1) for u in urls)
    assert not (tmp_path / "data" / "warehouse" / "pms-warehouse.pid").exists()  # a clean warehouse exit
