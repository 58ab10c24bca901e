"""Supervising the demo's servers: each child in its own process group, stopped as a whole.

A child's own children (Dagster's code servers and run workers, dbt, Streamlit's script runner)
share its group, so one signal reaches them all. Stopping sends SIGTERM to the group, waits, then
SIGKILLs whatever is left, including descendants that moved to a group of their own (found through
/proc where there is one).
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never goes through a proxy


class PortTaken(RuntimeError):
    pass


def interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def on_stop_signals(handler) -> None:
    """SIGINT and SIGTERM alike; SIGINT explicitly, since a shell that starts a program in the
    background leaves SIGINT ignored, and Dagster's in-process runs swap both handlers."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


def ensure_free(host: str, port: int, what: str) -> None:
    """Fail with a clear message when something already listens on `host:port`."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is not "taken"
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortTaken(f"port {port} on {host} is taken, so the {what} cannot start; "
                                f"stop whatever uses it or pick another port") from None
            raise


def answers(url: str, timeout: float = 2.0) -> bool:
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return 200 <= response.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path
    url: str | None = None
    _tree: list[int] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def terminate(self) -> None:
        """SIGTERM the child's process group (remembering its descendants for `kill`)."""
        if not self.running:
            return
        self._tree = descendants(self.process.pid)
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> bool:
        try:
            self.process.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self, settle: float = 5.0) -> None:
        """SIGKILL the group and every descendant still alive, and wait (briefly) until they are gone."""
        for pid in self._tree + (descendants(self.process.pid) if self.running else []):
            _signal(pid, signal.SIGKILL)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        deadline = time.monotonic() + settle
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.05)

    def leftovers(self) -> list[int]:
        """Descendants seen at `terminate` that still exist (zombies of other parents excluded)."""
        alive = []
        for pid in self._tree:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state not in ("Z", "X"):
                alive.append(pid)
        return alive


def spawn(name: str, args: Sequence[str], env: Mapping[str, str], log_dir: Path, url: str | None = None) -> Child:
    """Start `args` in a new session (its own process group), output appended to `log_dir/<name>.log`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(args)}\n".encode())
        log.flush()
        process = subprocess.Popen(list(args), env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return Child(name, process, log_path, url)


def stop_all(children: Sequence[Child], timeout: float = 15.0) -> list[str]:
    """Terminate every child (in the given order), wait up to `timeout` in all, kill the rest.

    Returns the names of children that had to be killed.
    """
    for child in children:
        child.terminate()
    deadline = time.monotonic() + timeout
    killed = []
    for child in children:
        if not child.wait(deadline - time.monotonic()):
            killed.append(child.name)
        if child.running or child.leftovers():
            child.kill()
    return killed
