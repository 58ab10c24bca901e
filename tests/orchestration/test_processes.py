"""The demo's supervision: ports checked up front, children stopped with their whole process tree."""

import socket
import sys
import time

import pytest

from orchestration.processes import PortTaken, answers, descendants, ensure_free, spawn, stop_all

# The sleeper first restores SIGTERM's default action and unblocks it: a disposition or mask the test
# worker picked up from an earlier test (libraries block SIGTERM around their own spawns) is inherited
# across exec, and this test is about stopping a tree, not about the worker's signal state.
SLEEPER = [sys.executable, "-c", "import signal, subprocess, sys, time; "
           "signal.signal(signal.SIGTERM, signal.SIG_DFL); signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM}); "
           "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"]
STUBBORN = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(600)"]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_taken_port_is_reported():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with pytest.raises(PortTaken, match=f"port {port} .* taken.*API"):
            ensure_free("127.0.0.1", port, "API")
    ensure_free("127.0.0.1", port, "API")  # free again once closed


def test_stop_all_ends_children_and_grandchildren(tmp_path):
    child = spawn("sleeper", SLEEPER, {}, tmp_path)
    deadline = time.monotonic() + 20
    while not descendants(child.process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    tree = [child.process.pid, *descendants(child.process.pid)]
    assert len(tree) == 2
    assert stop_all([child], timeout=10) == []
    assert not any(_alive(pid) for pid in tree)


def test_stop_all_kills_what_ignores_sigterm(tmp_path):
    child = spawn("stubborn", STUBBORN, {}, tmp_path)
    deadline = time.monotonic() + 20
    while "ready" not in child.log_path.read_text().splitlines() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    assert stop_all([child], timeout=1.0) == ["stubborn"]
    assert time.monotonic() - started < 10 and not _alive(child.process.pid)


def test_answers_is_false_for_nothing_listening():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert not answers(f"http://127.0.0.1:{port}/", timeout=0.5)
