"""ClickHouse-style errors: the code, the symbolic name, the body text and the HTTP status.

Clients parse these (clickhouse-connect reads ``X-ClickHouse-Exception-Code`` and the
``Code: N. DB::Exception: ... (NAME)`` body), so they follow the server's format exactly.
"""

from __future__ import annotations

import re

# ClickHouse's src/Common/ErrorCodes.cpp, for the errors this server raises itself.
UNSUPPORTED_METHOD = (1, "UNSUPPORTED_METHOD")
BAD_ARGUMENTS = (36, "BAD_ARGUMENTS")
NOT_IMPLEMENTED = (48, "NOT_IMPLEMENTED")
SYNTAX_ERROR = (62, "SYNTAX_ERROR")
UNKNOWN_COMPRESSION_METHOD = (89, "UNKNOWN_COMPRESSION_METHOD")
UNKNOWN_SETTING = (115, "UNKNOWN_SETTING")
READONLY = (164, "READONLY")
QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING = (216, "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING")
CANNOT_DECOMPRESS = (271, "CANNOT_DECOMPRESS")
SESSION_NOT_FOUND = (372, "SESSION_NOT_FOUND")
SESSION_IS_LOCKED = (373, "SESSION_IS_LOCKED")
INVALID_SESSION_TIMEOUT = (374, "INVALID_SESSION_TIMEOUT")
QUERY_IS_TOO_LARGE = (202, "QUERY_IS_TOO_LARGE")
AUTHENTICATION_FAILED = (516, "AUTHENTICATION_FAILED")
STD_EXCEPTION = (1001, "STD_EXCEPTION")

# src/Server/HTTP/exceptionCodeToHTTPStatus.cpp, keyed by name since chDB messages end in "(NAME)".
_STATUS_BY_NAME = {
    **dict.fromkeys(
        ("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"), 403
    ),
    "REQUIRED_PASSWORD": 401,
    **dict.fromkeys(
        (
            "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
            "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
            "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6",
            "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN",
            "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST",
            "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
            "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        ),
        400,
    ),
    **dict.fromkeys(
        (
            "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
            "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
            "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE",
        ),
        404,
    ),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "CANNOT_SCHEDULE_TASK": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}

_CODE = re.compile(r"Code: (\d+)\. ")
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)\s*$")
_VERSION = re.compile(r"\s*\(version [^)]*\)\s*$")


class ClickHouseError(Exception):
    """An error reported to the client as ClickHouse would report it."""

    def __init__(self, error: tuple[int, str], message: str):
        self.code, self.name = error
        self.message = message
        super().__init__(self.text)

    @property
    def text(self) -> str:
        return f"Code: {self.code}. DB::Exception: {self.message}. ({self.name})"

    @property
    def http_status(self) -> int:
        return _STATUS_BY_NAME.get(self.name, 500)

    def body(self, version: str) -> str:
        return f"{self.text} (version {version})\n"


class EngineError(ClickHouseError):
    """An error raised by chDB, whose text already has ClickHouse's shape."""

    def __init__(self, raw: str):
        match = _CODE.search(raw)
        text = _VERSION.sub("", raw[match.start() :] if match else raw).strip()
        name = _NAME.search(text)
        self.code = int(match.group(1)) if match else STD_EXCEPTION[0]
        self.name = name.group(1) if name else STD_EXCEPTION[1]
        self._text = text if match else f"Code: {self.code}. DB::Exception: {text}. ({self.name})"
        self.message = self._text
        Exception.__init__(self, self._text)

    @property
    def text(self) -> str:
        return self._text


def from_exception(exc: BaseException) -> ClickHouseError:
    """Wrap anything raised while running a statement; chDB raises RuntimeError/ChdbError with CH text."""
    if isinstance(exc, ClickHouseError):
        return exc
    raw = str(exc)
    if _CODE.search(raw):
        return EngineError(raw)
    return ClickHouseError(STD_EXCEPTION, f"{type(exc).__name__}: {raw}")
