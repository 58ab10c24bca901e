"""chDB handles, sessions and the pool that serve the HTTP requests.

A chDB data directory can be opened by one process only, but inside that process
``chdb.connect(path)`` may be called many times: each connection ("handle") keeps its own
USE/SET state and temporary tables, and different handles run queries in parallel. So every
ClickHouse session gets its own handle, and session-less requests borrow one from a small pool.
A handle runs one statement at a time; all of its blocking calls run in worker threads, never on
the event loop, so a long query cannot starve ``/ping``.

Per-request settings and ``database`` must not stick: each handle remembers what it applied for
the previous request and reconciles (SET / SET ... = DEFAULT / USE) before the next statement.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import chdb

from warehouse.embedded.errors import (
    INVALID_SESSION_TIMEOUT,
    SESSION_IS_LOCKED,
    SESSION_NOT_FOUND,
    UNKNOWN_SETTING,
    ClickHouseError,
    from_exception,
)
from warehouse.embedded.sql import Statement

log = logging.getLogger("warehouse.embedded")

T = TypeVar("T")

DEFAULT_SESSION_TIMEOUT = 60  # seconds, ClickHouse's default_session_timeout
MAX_SESSION_TIMEOUT = 3600  # ClickHouse's max_session_timeout
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Summary:
    """The X-ClickHouse-Summary header: ClickHouse sends every value as a JSON string."""

    read_rows: int = 0
    read_bytes: int = 0
    written_rows: int = 0
    written_bytes: int = 0
    total_rows_to_read: int = 0
    result_rows: int = 0
    result_bytes: int = 0
    elapsed_ns: int = 0

    def add_result(self, result: Any) -> None:
        """Accumulate a chDB query_result (a whole result, or one streamed chunk)."""
        self.read_rows += result.storage_rows_read()
        self.read_bytes += result.storage_bytes_read()
        self.total_rows_to_read = self.read_rows
        self.written_rows += result.rows_written()
        self.written_bytes += result.bytes_written()
        self.result_rows += result.rows_read()
        self.result_bytes += result.bytes_read()

    def header(self) -> str:
        return json.dumps({key: str(value) for key, value in asdict(self).items()}, separators=(",", ":"))


def quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


class Handle:
    """One chDB connection and the session state this server layered on top of it.

    Not thread-safe: the owner (a session or the pool) lets one request use it at a time.
    """

    def __init__(self, path: str, baseline: Mapping[str, str] | None = None):
        self.conn = chdb.connect(path)
        self._baseline = baseline or {}  # settings a fresh connection has that differ from their DEFAULT
        self.database = "default"  # the session's own database (changed only by USE)
        self._current_database = "default"  # what the connection is on now
        self._applied: dict[str, str] = {}  # request settings currently SET on the connection
        self._saved: dict[str, str | None] = {}  # the session's value for each applied key; None = default
        self._session_set = False  # a client SET ran here, so defaults are not the baseline
        self.broken = False

    # -- per-request state -------------------------------------------------------------------
    def prepare(self, settings: Mapping[str, str], database: str | None) -> None:
        """Make the connection run the next statement with exactly these settings and database."""
        for name in settings:
            if not _SETTING_NAME.match(name):
                raise ClickHouseError(UNKNOWN_SETTING, f"Unknown setting '{name}'")
        changes = {name: value for name, value in settings.items() if self._applied.get(name) != value}
        restores = [name for name in self._applied if name not in settings]
        if changes or restores:
            self._save_baseline([name for name in changes if name not in self._applied])
            assignments = [f"{name} = {self._restore_expr(name)}" for name in restores]
            assignments += [f"{name} = {quote_string(value)}" for name, value in changes.items()]
            try:
                self._run("SET " + ", ".join(assignments))
            except Exception:
                self._reset_settings(list(changes))
                raise
            for name in restores:
                self._applied.pop(name)
                self._saved.pop(name, None)
            self._applied.update(changes)
        target = database or self.database
        if target != self._current_database:
            self._run(f"USE {quote_identifier(target)}")
            self._current_database = target

    def after(self, statement: Statement) -> None:
        """Record what a client's SET or USE changed, so later requests start from it."""
        if statement.keyword == "USE":
            self.database = self._current_database = self._run("SELECT currentDatabase()").strip()

    def before(self, statement: Statement) -> None:
        """A client SET changes the session's baseline: drop request settings first so they don't get saved."""
        if statement.keyword == "SET":
            self._reset_settings([])
            self._session_set = True

    def _save_baseline(self, names: list[str]) -> None:
        if not names:
            return
        if not self._session_set:  # nothing but this server ever SET anything here: a fresh connection's values
            self._saved.update({name: self._baseline.get(name) for name in names})
            return
        listed = ", ".join(quote_string(name) for name in names)
        rows = self._run(f"SELECT name, value, changed FROM system.settings WHERE name IN ({listed})", "TSVRaw")
        found = {}
        for line in rows.splitlines():
            name, value, changed = line.split("\t")
            found[name] = value if changed == "1" else None
        for name in names:
            self._saved[name] = found.get(name)

    def _restore_expr(self, name: str) -> str:
        saved = self._saved.get(name)
        return "DEFAULT" if saved is None else quote_string(saved)

    def _reset_settings(self, extra: list[str]) -> None:
        """Put every request setting back, one at a time so one bad name cannot block the rest."""
        for name in list(self._applied) + [n for n in extra if n not in self._applied]:
            try:
                self._run(f"SET {name} = {self._restore_expr(name)}")
            except Exception:
                if name in self._applied:
                    self.broken = True  # cannot prove the connection is clean any more
        self._applied.clear()
        self._saved.clear()

    def _run(self, sql: str, fmt: str = "TSV") -> str:
        try:
            return self.conn.query(sql, fmt).bytes().decode()
        except ClickHouseError:
            raise
        except Exception as exc:
            raise from_exception(exc) from None

    # -- statements --------------------------------------------------------------------------
    def execute(self, sql: str | bytes, fmt: str, params: Mapping[str, str]) -> tuple[bytes, Summary]:
        started = time.perf_counter_ns()
        try:
            result = self.conn.query(sql, fmt, params=dict(params))
        except Exception as exc:
            raise from_exception(exc) from None
        summary = Summary()
        summary.add_result(result)
        summary.elapsed_ns = time.perf_counter_ns() - started
        return result.bytes(), summary

    def open_stream(self, sql: str | bytes, fmt: str, params: Mapping[str, str]) -> Any:
        try:
            return self.conn.send_query(sql, fmt, params=dict(params))
        except Exception as exc:
            raise from_exception(exc) from None

    def begin_insert(self, header: str, fmt: str) -> InsertStream:
        try:
            return InsertStream(self.conn.send_insert(header, fmt))
        except Exception as exc:
            raise from_exception(exc) from None

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # closing must never mask the error that got us here
            log.debug("closing a chDB handle failed", exc_info=True)


class InsertStream:
    """chDB's streaming INSERT (send_insert), with its errors in ClickHouse's shape."""

    def __init__(self, inserter: Any):
        self._inserter = inserter

    def append(self, data: bytes) -> None:
        try:
            self._inserter.append(data)
        except Exception as exc:
            raise from_exception(exc) from None

    def finish(self) -> tuple[int, int]:
        """Commit; returns (rows written, bytes written)."""
        try:
            result = self._inserter.finish()
        except Exception as exc:
            raise from_exception(exc) from None
        return result.rows_written, result.bytes_written

    def cancel(self) -> None:
        try:
            self._inserter.cancel()
        except Exception:  # cancelling after a failed append/finish may itself fail; nothing is committed
            log.debug("cancelling an insert failed", exc_info=True)


def fetch_chunk(stream: Any, summary: Summary) -> bytes | None:
    """Next chunk of a streaming result, or None at the end."""
    try:
        result = stream.fetch()
    except Exception as exc:
        raise from_exception(exc) from None
    if result is None:
        return None
    summary.add_result(result)
    return result.bytes()


@dataclass
class _Session:
    handle: Handle | None
    timeout: float
    lock: asyncio.Lock
    last_used: float


@dataclass(frozen=True)
class SessionRequest:
    session_id: str
    timeout: float = DEFAULT_SESSION_TIMEOUT
    check: bool = False

    @classmethod
    def parse(cls, session_id: str | None, timeout: str | None, check: str | None) -> SessionRequest | None:
        if not session_id:
            return None
        seconds = float(DEFAULT_SESSION_TIMEOUT)
        if timeout:
            try:
                seconds = float(timeout)
            except ValueError:
                raise ClickHouseError(INVALID_SESSION_TIMEOUT, f"Invalid session timeout: '{timeout}'") from None
            if seconds > MAX_SESSION_TIMEOUT:
                raise ClickHouseError(
                    INVALID_SESSION_TIMEOUT,
                    f"Session timeout '{timeout}' is larger than max_session_timeout: {MAX_SESSION_TIMEOUT}. "
                    "Maximum session timeout could be modified in configuration file",
                )
        return cls(session_id, seconds, check == "1")


class Engine:
    """Owns the chDB data directory for this process: the handles, sessions and worker threads."""

    def __init__(self, data_dir: Path, pool_size: int = 8, threads: int = 64):
        self.path = str(Path(data_dir).resolve())
        Path(self.path).mkdir(parents=True, exist_ok=True)
        # Opened first and closed last: while any connection is open the engine stays up and holds the
        # directory lock, so sessions coming and going never restart it.
        self._anchor = Handle(self.path)
        self._anchor_lock = threading.Lock()
        self.version = self._anchor._run("SELECT version()").strip()
        # chDB starts some settings away from their DEFAULT (clickhouse-local's choices); restoring a
        # request setting must return to these values, not to DEFAULT.
        rows = self._anchor._run("SELECT name, value FROM system.settings WHERE changed OR value != default", "TSVRaw")
        self._baseline = dict(line.split("\t", 1) for line in rows.splitlines())
        self.timezone = self._anchor._run("SELECT timezone()").strip()
        self.formats: dict[str, str] = {}  # lower-case name -> name, for output formats
        self.content_types: dict[str, str] = {}
        for line in self._anchor._run("SELECT name, content_type FROM system.formats WHERE is_output", "TSVRaw").splitlines():
            name, content_type = line.split("\t")
            self.formats[name.lower()] = name
            self.content_types[name] = content_type
        self._limiter = anyio.CapacityLimiter(threads)
        self._pool_slots = asyncio.Semaphore(pool_size) if pool_size else None
        self._idle: list[Handle] = []
        self._sessions: dict[str, _Session] = {}
        self._closed = False

    async def call(self, func: Callable[..., T], *args: Any) -> T:
        """Run a blocking chDB call in a worker thread.

        If the awaiting task is cancelled (client gone, shutdown), the cancellation waits for the
        call to return: a handle must never be reused while a thread still runs on it.
        """
        future = asyncio.ensure_future(anyio.to_thread.run_sync(func, *args, limiter=self._limiter))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait({future})
            if not future.cancelled():
                future.exception()  # retrieved, so asyncio does not warn; the cancellation wins
            raise

    @asynccontextmanager
    async def lease(self, session: SessionRequest | None, discard: Callable[[], bool]) -> AsyncIterator[Handle]:
        """Borrow the session's handle, or a pooled one. ``discard()`` decides at the end whether to drop it."""
        if session is not None:
            async with self._session_handle(session) as handle:
                yield handle
            return
        assert self._pool_slots is not None
        async with self._pool_slots:
            handle = self._idle.pop() if self._idle else await self.call(Handle, self.path, self._baseline)
            try:
                yield handle
            finally:
                if handle.broken or discard() or self._closed:
                    await self.call(handle.close)
                else:
                    self._idle.append(handle)

    @asynccontextmanager
    async def _session_handle(self, request: SessionRequest) -> AsyncIterator[Handle]:
        session = self._sessions.get(request.session_id)
        if session is None:
            if request.check:
                raise ClickHouseError(SESSION_NOT_FOUND, f"Session {request.session_id} not found")
            session = _Session(None, request.timeout, asyncio.Lock(), time.monotonic())
            self._sessions[request.session_id] = session
        if session.lock.locked():  # ClickHouse refuses rather than queues concurrent use of a session
            raise ClickHouseError(SESSION_IS_LOCKED, f"Session {request.session_id} is locked by a concurrent client")
        async with session.lock:
            try:
                if session.handle is None:
                    session.handle = await self.call(Handle, self.path, self._baseline)
                yield session.handle
            finally:
                session.timeout = request.timeout
                session.last_used = time.monotonic()
                if session.handle is None or session.handle.broken:
                    self._sessions.pop(request.session_id, None)
                    if session.handle is not None:
                        await self.call(session.handle.close)

    async def expire_sessions(self) -> int:
        """Close sessions idle for longer than their timeout; returns how many were closed."""
        now = time.monotonic()
        expired = [
            (sid, s)
            for sid, s in self._sessions.items()
            if not s.lock.locked() and now - s.last_used > s.timeout
        ]
        for sid, session in expired:
            if self._sessions.get(sid) is session and not session.lock.locked():
                del self._sessions[sid]
                if session.handle is not None:
                    await self.call(session.handle.close)
        return len(expired)

    async def close_session(self, session_id: str) -> None:
        """``close_session=1``: drop the session after its request (its lock is released by then)."""
        session = self._sessions.pop(session_id, None)
        if session is not None and session.handle is not None:
            await self.call(session.handle.close)

    async def kill(self, marker: str) -> None:
        """Cancel the running statement whose text ends with ``marker`` (a client went away)."""

        def run() -> None:
            with self._anchor_lock:
                self._anchor.conn.query(
                    "KILL QUERY WHERE endsWith(query, {marker:String}) ASYNC", "TSV", params={"marker": marker}
                )

        try:
            await self.call(run)
        except Exception:
            log.warning("could not cancel a query whose client went away", exc_info=True)

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def close(self) -> None:
        """Close every handle, the anchor last, so chDB shuts down cleanly and flushes its data.

        A session still running a statement is closed when that statement ends; pooled handles in use
        are closed by their lease. chDB stops only when its last connection closes.
        """
        self._closed = True
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            async with session.lock:
                if session.handle is not None:
                    await self.call(session.handle.close)
        idle, self._idle = self._idle, []
        for handle in idle:
            await self.call(handle.close)
        await self.call(self._anchor.close)
