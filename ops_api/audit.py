"""The audit trail of patient-level data: append events in a hash chain, and verify the chain.

Every event's `hash` is sha256 over a canonical JSON of its fields plus `prev_hash` (the previous
event's hash); `seq` is gapless. So editing an event breaks its own hash, deleting one leaves a gap
and a dangling `prev_hash`, and inserting one breaks the next event's link. An attacker who can write
the table could recompute the whole chain, which is why `pms audit verify` prints the head to be
kept elsewhere and checks a kept head with `--anchor` (docs/security.md).

Chaining happens at flush, under a lock that lasts to the end of the transaction, so two transactions
appending at once still form one chain: PostgreSQL takes a transaction-level advisory lock, SQLite
its single write lock, before reading the head.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, event, select, text
from sqlalchemy.orm import Session

from ops_api.models.infra import AuditEvent

GENESIS = "0" * 64
LOCK_KEY = 0x61756469  # the advisory lock id of the chain: any constant no other code uses
HASHED = ("seq", "occurred_at", "user_id", "username", "role", "action", "route", "method", "status_code",
          "entity", "entity_id", "patient_id", "client_addr", "request_id", "prev_hash")
PHI_ROUTES = ("patients", "appointments", "encounters", "claims", "payments", "adjustments")
API_PREFIX = "/api/v1/"
_LIMITS = {c.name: c.type.length for c in AuditEvent.__table__.columns if getattr(c.type, "length", None)}


def phi_area(path: str) -> str | None:
    """The PHI resource a path belongs to (`/api/v1/patients/...` → "patients"), else None."""
    if not path.startswith(API_PREFIX):
        return None
    area = path[len(API_PREFIX):].split("/", 1)[0]
    return area if area in PHI_ROUTES else None


def route_template(scope) -> str:
    """The matched route as declared (`/api/v1/patients/{patient_id}`), rebuilt from the path and its
    parameters; never the raw path of an unmatched request, which could carry anything."""
    path = scope["path"]
    if scope.get("route") is None:
        area = phi_area(path)
        return f"{API_PREFIX}{area}/*" if area else "<unmatched>"
    names = {str(value): name for name, value in (scope.get("path_params") or {}).items()}
    return "/".join("{" + names[part] + "}" if part in names else part for part in path.split("/"))


def record(session: Session, *, action: str, route: str, method: str, status_code: int, user_id=None,
           username: str | None = None, role: str | None = None, entity: str | None = None, entity_id=None,
           patient_id=None, client_addr: str | None = None, request_id: str | None = None) -> AuditEvent:
    """Add an event to the session's transaction; `seq` and the hashes are set when it flushes."""
    values = dict(action=action, route=route, method=method, username=username, role=role, entity=entity,
                  entity_id=None if entity_id is None else str(entity_id), client_addr=client_addr,
                  request_id=request_id)
    values = {k: v[:_LIMITS[k]] if isinstance(v, str) and k in _LIMITS else v for k, v in values.items()}
    ev = AuditEvent(occurred_at=datetime.now(UTC),  # the wall clock, even when services run on simulated time
                    user_id=_uuid(user_id), patient_id=_uuid(patient_id), status_code=status_code, **values)
    session.add(ev)
    return ev


def _uuid(value) -> uuid.UUID | None:
    return None if value is None else value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _canonical(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def event_hash(ev: AuditEvent) -> str:
    body = json.dumps({k: _canonical(getattr(ev, k)) for k in HASHED}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def lock_chain(conn: Connection) -> None:
    """Hold the chain until this transaction ends, so the head read next is the head we extend."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    else:  # SQLite: any write statement takes the database's single write lock; this one changes nothing
        conn.execute(text("UPDATE audit_events SET seq = seq WHERE seq < 0"))


@event.listens_for(Session, "before_flush")
def _chain_new_events(session: Session, _ctx, _instances) -> None:
    pending = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if not pending:
        return
    conn = session.connection()
    lock_chain(conn)
    head = conn.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    for ev in sorted(pending, key=lambda e: e.occurred_at or datetime.now(UTC)):
        seq += 1
        ev.seq, ev.prev_hash = seq, prev
        ev.occurred_at = ev.occurred_at or datetime.now(UTC)
        ev.hash = prev = event_hash(ev)


@dataclass
class Verification:
    events: int  # events checked before the first break (all of them when intact)
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify(session: Session, anchor: tuple[int, str] | None = None) -> Verification:
    """Walk the chain in seq order; stop at the first event that was edited, deleted or inserted.

    `anchor` (seq, hash) is a head recorded earlier: the chain must still hold exactly that event,
    which catches a rewritten chain and a truncated tail.
    """
    seq, prev, count = 0, GENESIS, 0

    def broken(at: int, problem: str) -> Verification:
        return Verification(count, seq, prev, at, problem)

    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000))
    for ev in rows:
        if ev.seq != seq + 1:
            return broken(seq + 1, f"events {seq + 1}..{ev.seq - 1} are missing (deleted)")
        if ev.prev_hash != prev:
            return broken(ev.seq, "prev_hash does not link to the event before: an event was deleted or inserted")
        if event_hash(ev) != ev.hash:
            return broken(ev.seq, "fields do not match the event's hash: the event was edited")
        if anchor and ev.seq == anchor[0] and ev.hash != anchor[1]:
            return broken(ev.seq, "hash differs from the anchor: the chain was rewritten")
        seq, prev, count = ev.seq, ev.hash, count + 1
    if anchor and seq < anchor[0]:
        return broken(seq + 1, f"the chain ends at {seq}, before the anchor {anchor[0]}: events were deleted")
    return Verification(count, seq, prev)
