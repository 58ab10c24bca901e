"""`Idempotency-Key` for writes that move money: the same key and request replay the first answer.

The record of a key is inserted *before* the work, in the same transaction, so the unique
(scope, key) constraint decides every race: a concurrent request with the same key waits on the
index (PostgreSQL) or the write lock (SQLite) until the first one commits, then fails its insert,
rolls back and replays the stored answer. Only successes are stored: a request refused with a 4xx
wrote nothing, so the client may fix it and retry with the same key.

A request is its route, path parameters, parsed body and caller: the hash covers all of them, so a
key reused for anything else is a 409, never a silent replay of an unrelated answer.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ops_api.errors import Conflict
from ops_api.models import IdempotencyRecord
from ops_api.principal import Principal

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_DOC = "A client-chosen unique key (a UUID): retrying with it never repeats the write"
RequiredKey = Annotated[str, Header(alias=HEADER, min_length=1, max_length=200, description=_DOC)]
OptionalKey = Annotated[str | None, Header(alias=HEADER, min_length=1, max_length=200, description=_DOC)]


@dataclass
class Outcome:
    status_code: int
    body: Any
    replayed: bool

    def response(self) -> JSONResponse:
        headers = {REPLAYED_HEADER: "true"} if self.replayed else {}
        return JSONResponse(self.body, status_code=self.status_code, headers=headers)


def request_hash(payload: Any) -> str:
    """sha256 of canonical JSON, so key order and `"5"` vs `"5.00"` (parsed alike) do not matter."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def find(session: Session, scope: str, key: str) -> IdempotencyRecord | None:
    return session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.scope == scope,
                                                          IdempotencyRecord.key == key))


def _replay(record: IdempotencyRecord, digest: str) -> Outcome:
    if record.request_hash != digest:
        raise Conflict(f"{HEADER} {record.key!r} was already used for a different request", idempotency_key=record.key)
    return Outcome(record.status_code, json.loads(record.response_body), replayed=True)


def run_once(session: Session, principal: Principal, key: str | None, request: Any,
             action: Callable[[], tuple[int, Any]], on_replay: Callable[[Any], None] | None = None) -> Outcome:
    """Run `action` (→ status code, JSON body) at most once per key, committing its work with its answer.

    `request` is the parsed request (path parameters and body, JSON-ready); `on_replay` lets the route
    audit a replayed answer, which is committed too.
    """
    if key is None:
        status_code, body = action()
        session.commit()
        return Outcome(status_code, body, replayed=False)
    scope = f"{principal.method} {principal.route}"
    digest = request_hash({"user": str(principal.id), "request": request})
    claimed = _claim_key(session, scope, key, digest)
    if isinstance(claimed, Outcome):
        if on_replay is not None:
            on_replay(claimed.body)
        session.commit()
        return claimed
    status_code, body = action()
    claimed.status_code, claimed.response_body = status_code, json.dumps(body)
    session.commit()
    return Outcome(status_code, body, replayed=False)


def _claim_key(session: Session, scope: str, key: str, digest: str) -> IdempotencyRecord | Outcome:
    """Insert the key's record (ours to answer), or return the stored answer of whoever holds the key."""
    if (record := find(session, scope, key)) is not None:
        return _replay(record, digest)
    record = IdempotencyRecord(scope=scope, key=key, request_hash=digest, status_code=0, response_body="")
    session.add(record)
    try:
        session.flush()
    except IntegrityError:  # lost the race: the winner has committed its answer
        session.rollback()
        return _replay(find(session, scope, key), digest)
    return record
