"""Start, find, check and stop the embedded warehouse server process.

The server writes a PID file (JSON: pid, host, port, version, start time) into its data
directory once it has bound its port, and removes it on a clean exit; everything here works
from that file. ``start_server`` is what tests and ``make demo`` use: it runs the server as a
subprocess (``port=0`` picks a free port, race-free, since the server binds it and reports it)
and returns a handle once ``/ping`` answers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

PID_FILE = "pms-warehouse.pid"
LOG_FILE = "pms-warehouse.log"
_REPO_ROOT = Path(__file__).resolve().parents[2]


class AlreadyRunning(RuntimeError):
    """Another live process serves this data directory."""


class StartFailed(RuntimeError):
    """The server process exited or did not become ready in time."""


@dataclass(frozen=True)
class ServerInfo:
    """What the PID file records about a running server."""

    pid: int
    host: str
    port: int
    version: str
    started_at: float

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def write(data_dir: Path, host: str, port: int, version: str) -> ServerInfo:
    info = ServerInfo(pid=os.getpid(), host=host, port=port, version=version, started_at=time.time())
    tmp = Path(data_dir) / (PID_FILE + ".tmp")
    tmp.write_text(json.dumps(asdict(info)))
    tmp.replace(Path(data_dir) / PID_FILE)  # atomic: readers never see half a file
    return info


def read(data_dir: Path) -> ServerInfo | None:
    try:
        return ServerInfo(**json.loads((Path(data_dir) / PID_FILE).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def remove(data_dir: Path, pid: int) -> None:
    """Remove the PID file if it is still ours."""
    info = read(data_dir)
    if info is not None and info.pid == pid:
        (Path(data_dir) / PID_FILE).unlink(missing_ok=True)


def alive(pid: int) -> bool:
    """The process exists and, where /proc tells, is a Python process (PIDs get reused after a crash)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return b"python" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS) or it vanished meanwhile: trust kill(0)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback must not go through a proxy


def ping(url: str, timeout: float = 1.0) -> bool:
    try:
        with _OPENER.open(f"{url}/ping", timeout=timeout) as response:
            return response.status == 200 and response.read() == b"Ok.\n"
    except (urllib.error.URLError, OSError):
        return False


@dataclass(frozen=True)
class Status:
    data_dir: Path
    info: ServerInfo | None
    process_alive: bool
    answering: bool

    @property
    def running(self) -> bool:
        return self.process_alive and self.answering


def status(data_dir: Path) -> Status:
    data_dir = Path(data_dir).resolve()
    info = read(data_dir)
    if info is None:
        return Status(data_dir, None, False, False)
    is_alive = alive(info.pid)
    return Status(data_dir, info, is_alive, is_alive and ping(info.url))


def stop(data_dir: Path, timeout: float = 30.0) -> ServerInfo | None:
    """SIGTERM the server and wait: it finishes in-flight requests, closes chDB (flushing data) and exits.

    Returns the stopped server's info, or None if none was running. Escalates to SIGKILL after ``timeout``.
    """
    info = read(data_dir)
    if info is None or not alive(info.pid):
        if info is not None:
            remove(data_dir, info.pid)  # stale file from a crash
        return None
    os.kill(info.pid, signal.SIGTERM)
    if not _wait_exit(info.pid, timeout):
        os.kill(info.pid, signal.SIGKILL)
        _wait_exit(info.pid, 5.0)
        remove(data_dir, info.pid)
    return info


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # reap it if it is our child, so it does not linger as a zombie that looks alive
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


@dataclass
class ServerHandle:
    """A server this process started. ``stop()`` (or leaving the ``with`` block) shuts it down cleanly."""

    process: subprocess.Popen
    data_dir: Path
    host: str
    port: int
    version: str
    log_path: Path

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait for a clean exit (SIGKILL after ``timeout``); returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5.0)
        return self.process.returncode

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    user: str | None = None,
    password: str | None = None,
    timeout: float = 60.0,
    detach: bool = False,
) -> ServerHandle:
    """Run ``python -m warehouse.embedded.server`` as a subprocess and wait until ``/ping`` answers.

    ``user``/``password`` default to the pms settings; they reach the child through its environment
    (WAREHOUSE_USER/WAREHOUSE_PASSWORD), never its command line. Output goes to ``pms-warehouse.log`` in the
    data directory. ``detach=True`` puts the server in its own session so it outlives a Ctrl-C of the parent.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    existing = status(data_dir)
    if existing.process_alive:
        raise AlreadyRunning(f"{data_dir} is already served by pid {existing.info.pid} at {existing.info.url}")
    (data_dir / PID_FILE).unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH")]))
    if user is not None:
        env["WAREHOUSE_USER"] = user
    if password is not None:
        env["WAREHOUSE_PASSWORD"] = password
    log_path = data_dir / LOG_FILE
    cmd = [sys.executable, "-m", "warehouse.embedded.server", "--host", host, "--port", str(port), "--data-dir", str(data_dir)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=detach
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartFailed(f"warehouse server exited with code {process.returncode}:\n{_tail(log_path)}")
        info = read(data_dir)
        if info is not None and info.pid == process.pid and ping(info.url, timeout=0.5):
            return ServerHandle(process, data_dir, info.host, info.port, info.version, log_path)
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise StartFailed(f"warehouse server not ready after {timeout:.0f}s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
