"""Append an outbox event for every insert, update and delete of a replicated entity.

Hooked on the session's flush, so the event is written in the same transaction as the change:
a rolled-back write leaves no event, and no code path can change an entity without one.
"""

import json
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, object_session

from ops_api.crypto import pseudonym
from ops_api.models.base import Entity
from ops_api.models.infra import OutboxEvent
from ops_api.models.types import EncryptedString, utcnow
from pms.enums import OutboxOp


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def row_payload(obj: Entity) -> dict:
    """The entity's column values, JSON-ready: money as strings, times as ISO 8601 UTC.

    Columns encrypted at rest replicate as a keyed pseudonym, never in clear (docs/security.md).
    """
    mapper = inspect(obj).mapper
    return {col.key: _column_value(col, getattr(obj, col.key)) for col in mapper.column_attrs}


def _column_value(col, value):
    if value is not None and isinstance(col.columns[0].type, EncryptedString):
        return pseudonym(value)
    return _json_value(value)


def event_row(obj: Entity, op: OutboxOp, now: datetime) -> dict:
    return {
        "entity": obj.__tablename__,
        "entity_id": str(obj.id),
        "op": op.value,
        "payload": json.dumps(row_payload(obj), separators=(",", ":")),
        "occurred_at": now,
    }


def _queue(target: Entity, op: OutboxOp) -> None:
    session = object_session(target)
    session.info.setdefault("outbox", []).append(event_row(target, op, utcnow()))


# Mapper events see every row the flush writes, cascaded deletes of orphans included.
@event.listens_for(Entity, "after_insert", propagate=True)
def _after_insert(_mapper, _connection, target) -> None:
    _queue(target, OutboxOp.upsert)


@event.listens_for(Entity, "after_update", propagate=True)
def _after_update(mapper, _connection, target) -> None:
    state = inspect(target)
    if any(state.attrs[col.key].history.has_changes() for col in mapper.column_attrs):
        _queue(target, OutboxOp.upsert)


@event.listens_for(Entity, "after_delete", propagate=True)
def _after_delete(_mapper, _connection, target) -> None:
    _queue(target, OutboxOp.delete)


@event.listens_for(Session, "after_flush")
def _write_outbox(session: Session, _flush_context) -> None:
    rows = session.info.pop("outbox", None)
    if rows:
        session.connection().execute(insert(OutboxEvent), rows)


@event.listens_for(Session, "after_rollback")
def _discard_outbox(session: Session) -> None:
    session.info.pop("outbox", None)
