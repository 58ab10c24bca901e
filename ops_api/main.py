"""The FastAPI application."""

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from ops_api.api.router import api_router
from ops_api.errors import install_handlers
from ops_api.middleware import BodySizeLimitMiddleware, RejectNulMiddleware, RequestContextMiddleware
from ops_api.ratelimit import limiter_from_settings
from pms.logging import configure_logging
from pms.settings import get_settings

ERROR_SCHEMA = {"title": "Error", "type": "object", "required": ["detail"],
                "properties": {"detail": {"type": "string"}}}
# The errors any operation may answer with (API.md), added to every operation's documented responses
# so clients (and schema-conformance tests) know them; `when` says which operations can produce each.
STANDARD_ERRORS = {
    "400": ("malformed request: NUL characters, or a body that cannot be parsed", lambda path, method, op: True),
    "401": ("missing, invalid, expired or revoked token", lambda path, method, op: "security" in op),
    "403": ("the caller's role may not use this operation", lambda path, method, op: "security" in op),
    "404": ("not found, or outside the caller's facilities", lambda path, method, op: "{" in path),
    "409": ("conflict with the current state (duplicate, double booking, illegal status move, reused "
            "idempotency key)", lambda path, method, op: method in {"post", "put", "patch", "delete"}),
    "413": ("request body larger than the limit", lambda path, method, op: "requestBody" in op),
}


# JSON Schema's "time" requires a UTC offset; ours are a facility's wall-clock times, sent without one.
WALL_CLOCK_TIME = {"type": "string", "format": "partial-time",
                   "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$"}


def _wall_clock_times(node) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "time":
            node.update(WALL_CLOCK_TIME)
        for value in node.values():
            _wall_clock_times(value)
    elif isinstance(node, list):
        for value in node:
            _wall_clock_times(value)


def _openapi(app: FastAPI) -> dict:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        _wall_clock_times(schema)
        for path, operations in schema.get("paths", {}).items():
            for method, op in operations.items():
                for code, (description, when) in STANDARD_ERRORS.items():
                    if when(path, method, op):
                        op["responses"].setdefault(code, {"description": description})
                for code, response in op["responses"].items():
                    if code[0] in "45" and "content" not in response:
                        body = "HTTPValidationError" if code == "422" else "Error"  # per-field list, or a message
                        response["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}
        app.openapi_schema = schema
    return app.openapi_schema


async def _internal_error(request: Request, _exc: Exception) -> JSONResponse:
    """No exception text to the client (it may quote data); the request id finds the log line."""
    return JSONResponse({"detail": "internal server error", "request_id": getattr(request.state, "request_id", None)},
                        status_code=500)


def create_app() -> FastAPI:
    configure_logging()
    settings = get_settings()
    app = FastAPI(
        title="Spark Den PMS — operational API",
        version="1.0.0",
        description="Patients, scheduling, insurance, claims and payments. Contract: API.md.",
    )
    app.state.login_limiter = limiter_from_settings(settings)
    install_handlers(app)
    app.add_exception_handler(Exception, _internal_error)
    app.include_router(api_router)
    # Added innermost first: the request context wraps everything, so even a 413 gets its headers.
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    if origins := settings.cors_origin_list:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
                           expose_headers=["X-Request-ID", "Retry-After"])
    app.add_middleware(RequestContextMiddleware)
    app.openapi = lambda: _openapi(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    return app


app = create_app()
