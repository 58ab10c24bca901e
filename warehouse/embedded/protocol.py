"""The request side of ClickHouse's HTTP interface: URL parameters, credentials and options.

ClickHouse reads a few reserved URL parameters itself (``query``, ``database``, ``session_id``...),
treats ``param_*`` as bound query parameters, and applies every other parameter as a setting for
that one query. A handful of settings steer the HTTP layer (compression, buffering) and are
handled here rather than passed to chDB.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from warehouse.embedded.engine import SessionRequest
from warehouse.embedded.errors import AUTHENTICATION_FAILED, NOT_IMPLEMENTED, ClickHouseError

# URL parameters ClickHouse's HTTPHandler reserves for itself (never settings).
RESERVED = frozenset(
    {
        "query", "database", "default_format", "query_id", "session_id", "session_timeout", "session_check",
        "close_session", "compress", "decompress", "user", "password", "quota_key", "buffer_size",
        "wait_end_of_query", "client_protocol_version", "role", "stacktrace",
    }
)
# Settings that only steer the HTTP layer; this server implements them, chDB never sees them.
HTTP_SETTINGS = frozenset(
    {
        "enable_http_compression", "http_zlib_compression_level", "send_progress_in_http_headers",
        "http_headers_progress_interval_ms", "cancel_http_readonly_queries_on_client_close",
        "http_response_buffer_size", "http_wait_end_of_query", "http_write_exception_in_output_format",
        "readonly", "add_http_cors_header",
    }
)
_TRUE = ("1", "true", "True")


@dataclass(frozen=True)
class Credentials:
    """The one user this server accepts (settings.warehouse_user / warehouse_password)."""

    user: str
    password: str

    def check(self, headers: Mapping[str, str], params: Mapping[str, str]) -> str:
        """Return the authenticated user name, or raise AUTHENTICATION_FAILED like ClickHouse does."""
        basic = headers.get("authorization")
        header_user = headers.get("x-clickhouse-user")
        header_key = headers.get("x-clickhouse-key")
        param_user, param_password = params.get("user"), params.get("password")
        methods = [basic is not None, header_user is not None or header_key is not None,
                   param_user is not None or param_password is not None]
        if sum(methods) > 1:
            raise ClickHouseError(
                AUTHENTICATION_FAILED,
                "Invalid authentication: it is not allowed to use more than one authentication method "
                "(Authorization header, X-ClickHouse-User/X-ClickHouse-Key headers, user/password parameters)",
            )
        if basic is not None:
            user, password = _parse_basic(basic)
        elif methods[1]:
            user, password = header_user or "default", header_key or ""
        else:
            user, password = param_user or "default", param_password or ""
        ok_user = hmac.compare_digest(user.encode(), self.user.encode())
        ok_password = hmac.compare_digest(password.encode(), self.password.encode())
        if not (ok_user and ok_password):
            raise ClickHouseError(
                AUTHENTICATION_FAILED,
                f"{user}: Authentication failed: password is incorrect, or there is no user with such name",
            )
        return user


def _parse_basic(value: str) -> tuple[str, str]:
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic":
        raise ClickHouseError(AUTHENTICATION_FAILED, f"Unsupported authentication scheme: {scheme}")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ClickHouseError(AUTHENTICATION_FAILED, "Malformed Basic authorization header") from None
    user, _, password = decoded.partition(":")
    return user, password


@dataclass
class Options:
    """Everything a query request asked for, apart from its SQL and body."""

    query: str = ""
    database: str | None = None
    default_format: str | None = None
    query_id: str = ""
    session: SessionRequest | None = None
    close_session: bool = False
    wait_end_of_query: bool = False
    compress_response: bool = False
    zlib_level: int = 3
    readonly: bool = False
    params: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, params: Mapping[str, str], headers: Mapping[str, str], method: str) -> Options:
        if params.get("compress") in _TRUE or params.get("decompress") in _TRUE:
            raise ClickHouseError(
                NOT_IMPLEMENTED,
                "ClickHouse native compression (compress=1/decompress=1) is not supported by the embedded "
                "warehouse; use HTTP compression (Accept-Encoding with enable_http_compression=1, Content-Encoding)",
            )
        opts = cls(
            query=params.get("query", ""),
            database=params.get("database") or headers.get("x-clickhouse-database") or None,
            default_format=params.get("default_format") or headers.get("x-clickhouse-format") or None,
            query_id=params.get("query_id") or headers.get("x-clickhouse-query-id") or str(uuid.uuid4()),
            session=SessionRequest.parse(params.get("session_id"), params.get("session_timeout"), params.get("session_check")),
            close_session=params.get("close_session") in _TRUE,
            wait_end_of_query=(params.get("wait_end_of_query") or params.get("http_wait_end_of_query")) in _TRUE,
            compress_response=params.get("enable_http_compression") in _TRUE,
            readonly=method == "GET" or params.get("readonly", "0") not in ("", "0"),
        )
        if params.get("http_zlib_compression_level", "").isdigit():
            opts.zlib_level = min(9, int(params["http_zlib_compression_level"]))
        for name, value in params.items():
            if name.startswith("param_"):
                opts.params[name[len("param_") :]] = value
            elif name not in RESERVED and name not in HTTP_SETTINGS:
                opts.settings[name] = value
        return opts


_TAG_ALPHABET = string.ascii_lowercase + string.digits


def exception_tag() -> str:
    """The random tag ClickHouse 25.11+ sends in X-ClickHouse-Exception-Tag to frame mid-stream errors."""
    return "".join(secrets.choice(_TAG_ALPHABET) for _ in range(16))


def exception_block(tag: str, text: str) -> bytes:
    """How an error that happens after the response started is written into the body (ClickHouse 26.x)."""
    message = text.encode()
    return b"__exception__\r\n" + tag.encode() + b"\r\n" + message + b"\n" + f"{len(message)} {tag}".encode() + b"\r\n__exception__\r\n"
