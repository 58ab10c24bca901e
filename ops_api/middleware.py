"""ASGI middleware: request ids, the access log, security headers, audit events for denied PHI
requests, the request size limit, and the refusal of NUL characters.

Pure ASGI rather than BaseHTTPMiddleware so bodies are streamed, not buffered, and so the denied
request's audit event is written after the route's own session has closed (its transaction
rolled back with whatever it held).
"""

import re
import time
import uuid
from contextlib import contextmanager

import structlog
from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ops_api import audit
from ops_api.db import get_session
from pms.logging import get_logger

log = get_logger("ops_api.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
DENIED = frozenset({401, 403, 404})
DOCS_PATHS = ("/docs", "/redoc")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",  # ignored by browsers over plain HTTP
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc load their bundles from jsDelivr and start with an inline script.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
            "https://cdn.redoc.ly; worker-src 'self' blob:; frame-ancestors 'none'")


def _response_headers(path: str, request_id: str) -> dict[str, str]:
    headers = {**SECURITY_HEADERS, "X-Request-ID": request_id}
    headers["Content-Security-Policy"] = DOCS_CSP if path.startswith(DOCS_PATHS) else API_CSP
    if path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"  # responses carry PHI: no browser or proxy copy
    return headers


class RequestContextMiddleware:
    """Request id in and out, security headers, one access line per request, denied PHI requests audited."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id")
        request_id = given if given and REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500  # unless a response starts: an exception escaped
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in _response_headers(scope["path"], request_id).items():
                    headers.setdefault(name, value)
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                user = state.get("user") or {}
                log.info("request", method=scope["method"], route=audit.route_template(scope), status=status,
                         duration_ms=round((time.perf_counter() - started) * 1000, 1),
                         user_id=str(user["user_id"]) if user else None,
                         client=scope["client"][0] if scope.get("client") else None)
            if status in DENIED and audit.phi_area(scope["path"]):
                await run_in_threadpool(_audit_denied, scope, status, user, request_id)


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None  # not an id: whatever was typed into the path is not kept


def _target(scope: Scope, template: str) -> tuple[str | None, uuid.UUID | None]:
    """(entity, id) a request aimed at: the resource before the last id in the path
    (`/patients/{patient_id}/coverages/{coverage_id}` → coverages), else the PHI area."""
    entity, entity_id = audit.phi_area(scope["path"]), None
    params = scope.get("path_params") or {}
    parts = template.split("/")
    for before, part in zip(parts, parts[1:], strict=False):
        if part.startswith("{") and part[1:-1] in params:
            entity, entity_id = before, _uuid_or_none(params[part[1:-1]])
    return entity, entity_id


def _audit_denied(scope: Scope, status: int, user: dict, request_id: str) -> None:
    """Its own transaction: the route's, if any, rolled back. A failure here is logged, not raised,
    since the response has already gone."""
    route = audit.route_template(scope)
    entity, entity_id = _target(scope, route)
    patient_id = _uuid_or_none((scope.get("path_params") or {}).get("patient_id"))
    try:
        with _session(scope) as session:
            audit.record(session, action="denied", route=route, method=scope["method"], status_code=status,
                         entity=entity, entity_id=entity_id, patient_id=patient_id, request_id=request_id,
                         client_addr=scope["client"][0] if scope.get("client") else None, **user)
            session.commit()
    except Exception:
        log.error("audit_denied_failed", route=route, status=status, exc_info=True)


@contextmanager
def _session(scope: Scope):
    """A session from the same source the routes use (honours dependency overrides, as in tests)."""
    app = scope["app"]
    provider = app.dependency_overrides.get(get_session, get_session)
    with contextmanager(provider)() as session:
        yield session


class RequestTooLarge(HTTPException):
    """An HTTPException so FastAPI's body parsing re-raises it as is (anything else becomes a 400)."""

    def __init__(self, limit: int):
        super().__init__(413, f"request body larger than {limit} bytes")


class BodySizeLimitMiddleware:
    """413 for bodies over the limit: by Content-Length up front, or while a chunked body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse({"detail": RequestTooLarge(self.max_bytes).detail}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


NUL_DETAIL = "request contains NUL characters"
# A NUL in text is never data here: PostgreSQL refuses it (a 500 where it reached SQL) and SQLite ends
# strings at it (`contains('\0...')` became a match-all pattern). Refused once, for every route.
_ENCODED_NUL = {"application/json": b"\\u0000", "application/x-www-form-urlencoded": b"%00"}


class RejectNulMiddleware:
    """400 for NUL in the path, the query string, or a body (raw, or escaped as its content type does)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"\x00" in query or b"%00" in query:
            await JSONResponse({"detail": NUL_DETAIL}, status_code=400)(scope, receive, send)
            return
        content_type = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
        needles = [b"\x00", *([_ENCODED_NUL[content_type]] if content_type in _ENCODED_NUL else [])]
        tail = b""

        async def checked_receive() -> Message:
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                window = tail + message.get("body", b"")
                if any(needle in window for needle in needles):
                    raise HTTPException(400, NUL_DETAIL)
                tail = window[-5:]  # a needle split across two chunks is still seen
            return message

        await self.app(scope, checked_receive, send)
