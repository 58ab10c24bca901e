"""Structured logging for every package, configured once: JSON lines, PHI redacted before any handler.

structlog events are redacted in the processor chain, before they are handed to stdlib logging, so
no handler (file, console, pytest's capture) ever receives the raw values. Records from stdlib
loggers (uvicorn, sqlalchemy, ...) go through the same redaction for their structured fields;
their free-text messages cannot be redacted, so the loggers that would put request lines, SQL
parameters or URLs into text are silenced below WARNING, and exception messages are reduced to the
type and frames (a database error message can quote the row it failed on).
"""

import logging
import sys
import traceback
from typing import Any

import structlog

REDACTED = "[redacted]"
# Patient identifiers (HIPAA Safe Harbor kinds we hold), search terms that may be names, and secrets.
MASKED = frozenset({
    "name", "first_name", "last_name", "middle_name", "full_name", "patient_name", "dob", "date_of_birth",
    "birth_date", "phone", "phone_number", "email", "address", "line1", "line2", "postal_code", "zip",
    "member_id", "group_number", "subscriber_id", "mrn", "ssn", "q", "search",
    "password", "token", "access_token", "authorization", "secret",
})
DROPPED = frozenset({"body", "request_body", "json", "form", "query", "query_string", "query_params"})
QUIET = {"uvicorn.access": logging.CRITICAL,  # replaced by ops_api's access line, which has no query string
         "httpx": logging.WARNING, "httpcore": logging.WARNING, "sqlalchemy.engine": logging.WARNING}

_configured = False


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the moment: test capture and process managers swap it."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _key(key) -> str:
    return str(key).strip().lower().replace("-", "_")


def redact(value: Any) -> Any:
    """A copy of `value` with PHI keys masked and body/query keys dropped, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if _key(k) in MASKED else redact(v) for k, v in value.items() if _key(k) not in DROPPED}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def redact_phi(_logger, _method, event_dict: dict) -> dict:
    return redact(event_dict)


def summarize_exception(_logger, _method, event_dict: dict) -> dict:
    """Replace exc_info with the exception's type and frames: its message may quote patient data."""
    exc_info = event_dict.pop("exc_info", None)
    event_dict.pop("exception", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if exc_info and exc_info[0] is not None:
        frames = traceback.extract_tb(exc_info[2])
        event_dict["error"] = exc_info[0].__name__
        event_dict["frames"] = [f"{f.filename}:{f.lineno} {f.name}" for f in frames[-8:]]
    return event_dict


def configure_logging(level: int | str = logging.INFO) -> None:
    """Idempotent: the API, the CLI and tests may each call it."""
    global _configured
    if _configured:
        return
    shared = [structlog.contextvars.merge_contextvars, structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
              structlog.processors.TimeStamper(fmt="iso", utc=True), summarize_exception, redact_phi]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = _StderrHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.JSONRenderer()],
    ))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet_level in QUIET.items():
        logging.getLogger(name).setLevel(quiet_level)
    _configured = True


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
