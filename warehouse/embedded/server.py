"""ClickHouse's HTTP interface in front of an embedded chDB: an ASGI app served by uvicorn.

One process owns the chDB data directory and answers HTTP exactly as a clickhouse-server would,
so clickhouse-connect, dbt-clickhouse, Dagster and Streamlit connect to it unchanged. The app is
plain ASGI rather than a framework because the protocol needs control over the raw body (chunked,
compressed insert streams), over when headers go out (results stream after the first chunk), and
over disconnects (a read-only query whose client went away is killed).

Run it with ``pms warehouse serve`` or ``python -m warehouse.embedded.server``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.requests import Request

from warehouse.embedded import process
from warehouse.embedded.codecs import BodyDecoder, Encoder, choose_encoder
from warehouse.embedded.engine import Engine, Handle, Summary, fetch_chunk
from warehouse.embedded.errors import (
    NOT_IMPLEMENTED,
    QUERY_IS_TOO_LARGE,
    QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING,
    READONLY,
    STD_EXCEPTION,
    SYNTAX_ERROR,
    ClickHouseError,
)
from warehouse.embedded.protocol import Credentials, Options, exception_block, exception_tag
from warehouse.embedded.sql import InlineInsert, NeedMore, analyze, split_inline_insert

log = logging.getLogger("warehouse.embedded")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# Output formats whose streamed chunks concatenate into exactly the buffered output. chDB formats
# each streamed chunk on its own, so formats with a header, footer or row separators are buffered.
STREAMABLE_FORMATS = frozenset(
    {
        "Native", "RowBinary", "TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw", "CSV", "JSONEachRow",
        "JSONLines", "NDJSON", "JSONCompactEachRow", "JSONStringsEachRow", "JSONCompactStringsEachRow",
        "LineAsString", "Null",
    }
)
MAX_QUERY_BYTES = 256 << 20  # a query (not insert data) body is read whole; refuse absurd ones
INSERT_FEED_BYTES = 1 << 20  # insert data goes to chDB in pieces of about this size
FIRST_RESPONSE_BYTES = 1 << 20  # results this small are sent whole, with a complete summary
TEXT_PLAIN = "text/plain; charset=UTF-8"


class ClientGone(Exception):
    """The client disconnected before the exchange finished."""


class WarehouseApp:
    """The ASGI application. One instance per process, around one Engine."""

    def __init__(self, engine: Engine, credentials: Credentials, expire_every: float = 1.0):
        self.engine = engine
        self.credentials = credentials
        self.display_name = socket.gethostname()
        self.running: dict[str, float] = {}  # query_id -> start, to refuse duplicate ids like ClickHouse
        self._expire_every = expire_every

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if _is_health_check(scope):
                await _send_plain(send, 200, b"Ok.\n")
            else:
                await Exchange(self, scope, receive, send).run()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        expiry: asyncio.Task | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                expiry = asyncio.create_task(self._expire_sessions())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if expiry is not None:
                    expiry.cancel()
                await self.engine.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _expire_sessions(self) -> None:
        while True:
            await asyncio.sleep(self._expire_every)
            try:
                closed = await self.engine.expire_sessions()
                if closed:
                    log.info("expired %d idle session(s)", closed)
            except Exception:
                log.exception("session expiry failed")


def _is_health_check(scope: Scope) -> bool:
    path = scope["path"]
    if path in ("/ping", "/replicas_status"):
        return True
    return path == "/" and scope["method"] in ("GET", "HEAD") and b"query=" not in scope.get("query_string", b"")


async def _send_plain(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    base = [(b"content-type", TEXT_PLAIN.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": base + (headers or [])})
    await send({"type": "http.response.body", "body": body})


class Body:
    """The raw request body, read incrementally from ASGI ``receive``."""

    def __init__(self, receive: Receive):
        self._receive = receive
        self.done = False

    async def next(self) -> bytes | None:
        while not self.done:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            self.done = not message.get("more_body", False)
            if message.get("body"):
                return message["body"]
        return None

    async def drain(self) -> None:
        """Read and drop the rest, so the connection stays usable after an early error (as ClickHouse does)."""
        with contextlib.suppress(ClientGone):
            while await self.next() is not None:
                pass


class Exchange:
    """One HTTP request: parse, authenticate, run the statement, respond."""

    def __init__(self, app: WarehouseApp, scope: Scope, receive: Receive, send: Send):
        self.app = app
        self.engine = app.engine
        self.scope = scope
        self.receive = receive
        self._send = send
        self.body = Body(receive)
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.started = time.perf_counter()
        self.query_id = ""
        self.tag = exception_tag()
        self.response_started = False
        self.timezone = self.engine.timezone
        self.kind = "query"

    # -- driver ------------------------------------------------------------------------------
    async def run(self) -> None:
        status, summary = 200, Summary()
        registered = False
        try:
            params = dict(parse_qsl(self.scope["query_string"].decode("latin-1"), keep_blank_values=True))
            self.query_id = params.get("query_id") or self.headers.get("x-clickhouse-query-id") or ""
            self.app.credentials.check(self.headers, params)  # URL and headers only, before reading any body
            if self.headers.get("content-type", "").startswith("multipart/form-data"):
                params.update(await self._read_form())
            opts = Options.parse(params, self.headers, self.scope["method"])
            self.query_id = opts.query_id
            self.timezone = opts.settings.get("session_timezone") or self.engine.timezone
            if self.query_id in self.app.running:
                raise ClickHouseError(
                    QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING, f"Query with id = {self.query_id} is already running"
                )
            self.app.running[self.query_id] = self.started
            registered = True
            summary = await self._dispatch(opts)
        except ClientGone:
            status = 499
        except ClickHouseError as exc:
            status = await self._fail(exc)
            summary = None
        except Exception as exc:  # a bug here must still answer like ClickHouse, and never log SQL
            log.exception("internal error in query %s", self.query_id)
            status = await self._fail(ClickHouseError(STD_EXCEPTION, f"{type(exc).__name__}: {exc}"))
            summary = None
        finally:
            if registered:
                self.app.running.pop(self.query_id, None)
        elapsed_ms = (time.perf_counter() - self.started) * 1000
        if summary is not None:
            log.info(
                "query %s %s status=%d read_rows=%d written_rows=%d result_rows=%d elapsed_ms=%.1f",
                self.query_id, self.kind, status, summary.read_rows, summary.written_rows, summary.result_rows, elapsed_ms,
            )
        else:
            log.info("query %s %s status=%d elapsed_ms=%.1f", self.query_id, self.kind, status, elapsed_ms)

    async def _fail(self, exc: ClickHouseError) -> int:
        """Send an error: as a ClickHouse error response, or in-band if the response already started."""
        log.info("query %s failed: code=%d %s", self.query_id or "-", exc.code, exc.name)
        body = exc.body(self.engine.version).encode()
        if self.response_started:
            with contextlib.suppress(OSError):
                await self._send({"type": "http.response.body", "body": exception_block(self.tag, exc.text), "more_body": False})
            return 200
        await self.body.drain()
        headers = self._headers(Summary()) + [(b"x-clickhouse-exception-code", str(exc.code).encode())]
        with contextlib.suppress(OSError):
            await _send_plain(self._send, exc.http_status, body, headers)
        return exc.http_status

    async def _read_form(self) -> dict[str, str]:
        """multipart/form-data: clickhouse-connect sends large bound parameters this way."""
        form = await Request(self.scope, self.receive).form(max_part_size=MAX_QUERY_BYTES)
        self.body.done = True
        fields = {}
        for name, value in form.multi_items():
            if not isinstance(value, str):
                raise ClickHouseError(NOT_IMPLEMENTED, "External data (file parts in multipart requests) is not supported")
            fields[name] = value
        return fields

    async def _dispatch(self, opts: Options) -> Summary:
        decoder = BodyDecoder(self.headers.get("content-encoding"))
        prefix = (opts.query + "\n").encode() if opts.query else b""
        buffered = bytearray(prefix)
        while True:
            try:
                insert = split_inline_insert(buffered.decode("latin-1"), complete=self.body.done)
                break
            except NeedMore:
                chunk = await self.body.next()
                if chunk is not None:
                    buffered += decoder.decode(chunk)
                if len(buffered) > MAX_QUERY_BYTES:
                    raise ClickHouseError(QUERY_IS_TOO_LARGE, "Query is too large") from None
        if insert is not None:
            self.kind = "insert"
            return await self._insert(opts, insert, buffered, decoder)
        while (chunk := await self.body.next()) is not None:
            buffered += decoder.decode(chunk)
            if len(buffered) > MAX_QUERY_BYTES:
                raise ClickHouseError(QUERY_IS_TOO_LARGE, f"Query is too large ({len(buffered)} bytes)")
        decoder.finish()
        return await self._query(opts, bytes(buffered))

    # -- INSERT with data --------------------------------------------------------------------
    async def _insert(self, opts: Options, insert: InlineInsert, buffered: bytearray, decoder: BodyDecoder) -> Summary:
        """Stream the body into chDB's send_insert, decompressing in the worker thread."""
        if opts.readonly:
            raise _readonly_error(self.scope["method"])
        header = insert.header.encode("latin-1").decode("utf-8", errors="replace")
        pending = bytes(buffered[insert.data_start :])
        summary = Summary()
        started = time.perf_counter_ns()

        def feed(inserter: Any, decoded: bytes, raw: bytes) -> None:
            data = decoded + decoder.decode(raw) if raw else decoded
            summary.read_bytes += len(data)
            if data:
                inserter.append(data)

        def begin(handle: Handle) -> Any:
            handle.prepare(opts.settings, opts.database)
            return handle.begin_insert(header, insert.format)

        async with self.engine.lease(opts.session, discard=lambda: False) as handle:
            inserter = await self.engine.call(begin, handle)
            try:
                raw = bytearray()
                while (chunk := await self.body.next()) is not None:
                    raw += chunk
                    if len(raw) + len(pending) >= INSERT_FEED_BYTES:
                        await self.engine.call(feed, inserter, pending, bytes(raw))
                        pending, raw = b"", bytearray()
                await self.engine.call(feed, inserter, pending, bytes(raw))
                decoder.finish()
                rows, size = await self.engine.call(inserter.finish)
            except BaseException:
                await asyncio.shield(self.engine.call(inserter.cancel))
                raise
        await self._close_session_if_asked(opts)
        summary.written_rows = summary.read_rows = rows
        summary.written_bytes = size
        summary.elapsed_ns = time.perf_counter_ns() - started
        await self._respond(summary, None, b"")
        return summary

    # -- everything else ---------------------------------------------------------------------
    async def _query(self, opts: Options, text: bytes) -> Summary:
        sql = _decode_sql(text)
        statement = analyze(sql if isinstance(sql, str) else text.decode("latin-1"), self.engine.formats)
        if statement.multi:
            raise ClickHouseError(SYNTAX_ERROR, "Syntax error (Multi-statements are not allowed)")
        if not statement.keyword:
            raise ClickHouseError(SYNTAX_ERROR, "Empty query")
        if opts.readonly and not statement.read_only:
            raise _readonly_error(self.scope["method"])
        input_format = opts.default_format or "TabSeparated"
        output_format = statement.format or self.engine.formats.get(input_format.lower(), input_format)
        # Read-only statements carry a unique trailing comment, so a query whose client left can be
        # found in system.processes and killed (ClickHouse cancels read-only queries the same way).
        marker = f"/* pms-q:{uuid.uuid4().hex} */" if statement.read_only and statement.keyword not in ("SET", "USE") else None
        if marker is not None:
            sql = sql + "\n" + marker if isinstance(sql, str) else sql + b"\n" + marker.encode()
        encoder = choose_encoder(self.headers.get("accept-encoding"), opts.zlib_level) if opts.compress_response else None
        sessionless = opts.session is None
        async with self.engine.lease(opts.session, discard=lambda: sessionless and statement.changes_session) as handle:
            if statement.streamable and not opts.wait_end_of_query and output_format in STREAMABLE_FORMATS:
                self.kind = "stream"
                summary = await self._stream(handle, opts, sql, input_format, output_format, encoder, marker)
            else:

                def run() -> tuple[bytes, Summary]:  # one trip to a worker thread for the whole statement
                    handle.prepare(opts.settings, opts.database)
                    handle.before(statement)
                    body, summary = handle.execute(sql, input_format, opts.params)
                    handle.after(statement)
                    return _encode_whole(encoder, body), summary

                body, summary = await self._watching(marker, self.engine.call(run))
                returns = statement.returns_result or bool(body)
                await self._respond(summary, output_format if returns else None, body, encoder)
        await self._close_session_if_asked(opts)
        return summary

    async def _stream(
        self, handle: Handle, opts: Options, sql: str | bytes, fmt: str, output_format: str,
        encoder: Encoder | None, marker: str | None,
    ) -> Summary:
        """Send the first ~1 MiB (or the whole result) with its summary, then stream the rest."""
        summary = Summary()
        started = time.perf_counter_ns()
        stream: Any = None
        finished = False

        def start() -> bytes:
            nonlocal stream, finished
            handle.prepare(opts.settings, opts.database)
            stream = handle.open_stream(sql, fmt, opts.params)
            chunks, size = [], 0
            while size < FIRST_RESPONSE_BYTES:
                chunk = fetch_chunk(stream, summary)
                if chunk is None:
                    finished = True
                    return _encode_whole(encoder, b"".join(chunks))
                chunks.append(chunk)
                size += len(chunk)
            data = b"".join(chunks)
            return encoder.compress(data) if encoder else data

        def next_piece() -> bytes:
            nonlocal finished
            chunk = fetch_chunk(stream, summary)
            if chunk is None:
                finished = True
                return encoder.flush() if encoder else b""
            return encoder.compress(chunk) if encoder else chunk

        try:
            first = await self._watching(marker, self.engine.call(start))
            summary.elapsed_ns = time.perf_counter_ns() - started
            if finished:
                await self._respond(summary, output_format, first, encoder)
                return summary
            await self._start(summary, output_format, encoder)
            try:
                await self._send_body(first, more=True)
                while not finished:
                    piece = await self._watching(marker, self.engine.call(next_piece))
                    await self._send_body(piece, more=not finished)
            except OSError:
                raise ClientGone from None
            except ClickHouseError as exc:  # mid-stream: ClickHouse writes the error into the body
                tail = exception_block(self.tag, exc.body(self.engine.version).rstrip("\n"))
                if encoder:
                    tail = encoder.compress(tail) + encoder.flush()
                with contextlib.suppress(OSError):
                    await self._send_body(tail, more=False)
                log.info("query %s failed mid-stream: code=%d %s", self.query_id, exc.code, exc.name)
            return summary
        finally:
            if stream is not None and not finished:
                await asyncio.shield(self.engine.call(_cancel_stream, stream))

    async def _watching(self, marker: str | None, work: Awaitable[Any]) -> Any:
        """Await blocking work; if the client disconnects meanwhile, kill the (read-only) statement."""
        if marker is None:
            return await work
        work_task = asyncio.ensure_future(work)
        gone = asyncio.ensure_future(self._wait_disconnect())
        try:
            done, _ = await asyncio.wait({work_task, gone}, return_when=asyncio.FIRST_COMPLETED)
            if gone in done and not work_task.done():
                await self.engine.kill(marker)
                raise ClientGone
            return work_task.result()
        finally:
            gone.cancel()
            if not work_task.done():  # the thread must finish before the handle is reused
                await asyncio.shield(asyncio.wait({work_task}))
            if not work_task.cancelled():
                work_task.exception()  # mark retrieved: a killed query's error is expected

    async def _wait_disconnect(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass

    async def _close_session_if_asked(self, opts: Options) -> None:
        if opts.close_session and opts.session is not None:
            await self.engine.close_session(opts.session.session_id)

    # -- responses ---------------------------------------------------------------------------
    def _headers(self, summary: Summary, output_format: str | None = None, encoder: Encoder | None = None) -> list[tuple[bytes, bytes]]:
        headers = [
            ("x-clickhouse-server-display-name", self.app.display_name),
            ("x-clickhouse-query-id", self.query_id),
            ("x-clickhouse-timezone", self.timezone),
            ("x-clickhouse-exception-tag", self.tag),
            ("x-clickhouse-summary", summary.header()),
        ]
        if output_format is not None:
            headers.append(("x-clickhouse-format", output_format))
        if encoder is not None:
            headers.append(("content-encoding", encoder.name))
        return [(k.encode(), v.encode()) for k, v in headers]

    async def _start(self, summary: Summary, output_format: str | None, encoder: Encoder | None, length: int | None = None) -> None:
        content_type = self.engine.content_types.get(output_format or "", TEXT_PLAIN) or TEXT_PLAIN
        headers = self._headers(summary, output_format, encoder) + [(b"content-type", content_type.encode())]
        if length is not None:
            headers.append((b"content-length", str(length).encode()))
        self.response_started = True
        await self._send({"type": "http.response.start", "status": 200, "headers": headers})

    async def _send_body(self, data: bytes, more: bool) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": more})

    async def _respond(self, summary: Summary, output_format: str | None, body: bytes, encoder: Encoder | None = None) -> None:
        """A complete response; ``body`` is already encoded. Empty bodies go without Content-Encoding, as in ClickHouse."""
        try:
            await self._start(summary, output_format, encoder if body else None, length=len(body))
            await self._send_body(body, more=False)
        except OSError:
            raise ClientGone from None


def _encode_whole(encoder: Encoder | None, body: bytes) -> bytes:
    return encoder.compress(body) + encoder.flush() if encoder is not None and body else body


def _cancel_stream(stream: Any) -> None:
    with contextlib.suppress(Exception):
        stream.cancel()


def _decode_sql(text: bytes) -> str | bytes:
    """chDB takes bytes too, for the rare query that is not valid UTF-8 (binary inline data)."""
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return text


def _readonly_error(method: str) -> ClickHouseError:
    hint = " For queries over HTTP, method GET implies readonly. You should use method POST for modifying queries" if method == "GET" else ""
    return ClickHouseError(READONLY, f"Cannot execute query in readonly mode.{hint}")


# -- serving -----------------------------------------------------------------------------------
class BindRefused(ValueError):
    """Refusing to listen beyond loopback without a password."""


class DataDirUnavailable(RuntimeError):
    """chDB could not open the data directory (typically: another process has it open)."""


def check_bind_allowed(host: str, password: str) -> None:
    """Only loopback may be served without a password: the warehouse holds patient data."""
    if password:
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise BindRefused(
            f"refusing to serve the warehouse on {host} without a password: set WAREHOUSE_PASSWORD "
            "(and WAREHOUSE_USER) or bind 127.0.0.1"
        )


def serve(host: str, port: int, data_dir: Path, user: str, password: str, pool_size: int = 8) -> None:
    """Run the server in the foreground until SIGINT/SIGTERM, then shut chDB down cleanly.

    ``port=0`` picks a free port; the PID file in the data directory records the real one.
    """
    check_bind_allowed(host, password)
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    running = process.read(data_dir)
    if running is not None and process.alive(running.pid) and running.pid != os.getpid():
        raise process.AlreadyRunning(f"the warehouse in {data_dir} is already served by pid {running.pid} on port {running.port}")
    sock = _bind(host, port)
    try:
        engine = Engine(data_dir, pool_size=pool_size)
    except RuntimeError as exc:
        sock.close()
        raise DataDirUnavailable(
            f"cannot open the chDB data directory {data_dir} (only one process may open it at a time; "
            f"is a notebook or another server using it?): {exc}"
        ) from None
    app = WarehouseApp(engine, Credentials(user, password))
    config = uvicorn.Config(
        app, lifespan="on", access_log=False, log_config=None, timeout_graceful_shutdown=10,
        timeout_keep_alive=30, server_header=False, date_header=True,
    )
    server = uvicorn.Server(config)
    actual_port = sock.getsockname()[1]
    info = process.write(data_dir, host=host, port=actual_port, version=engine.version)
    log.info("warehouse serving %s on http://%s:%d (chDB %s, pid %d)", data_dir, host, actual_port, engine.version, info.pid)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the previous
    # handler; make that a no-op so the clean-up below runs and the exit status is 0.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        process.remove(data_dir, info.pid)
        log.info("warehouse stopped")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(1024)
    return sock


def main(argv: list[str] | None = None) -> int:
    """``python -m warehouse.embedded.server``: defaults and credentials come from pms settings."""
    from pms.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=settings.warehouse_host)
    parser.add_argument("--port", type=int, default=settings.warehouse_port)
    parser.add_argument("--data-dir", type=Path, default=settings.warehouse_data_dir)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        serve(args.host, args.port, args.data_dir, settings.warehouse_user, settings.warehouse_password.get_secret_value())
    except (BindRefused, DataDirUnavailable, process.AlreadyRunning, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
