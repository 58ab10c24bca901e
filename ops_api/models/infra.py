"""Bookkeeping tables: the replication outbox, idempotency records, counters, the audit trail."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ops_api.models.base import Base
from ops_api.models.types import UTCDateTime, utcnow

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGSERIAL.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEvent(Base):
    """One entity version, appended in the same transaction as the change it describes.

    `seq` orders events; on PostgreSQL concurrent transactions may commit out of `seq` order,
    which the replicator handles (see warehouse/replication).
    """

    __tablename__ = "outbox"
    __table_args__ = {"sqlite_autoincrement": True}  # never reuse a seq, even after pruning

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(10))
    payload: Mapped[str] = mapped_column(Text)  # the row as JSON (money as strings, times ISO UTC)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyRecord(Base):
    """The first answer to a money-moving request, replayed for the same key and body."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    scope: Mapped[str] = mapped_column(String(100))  # route, so one key cannot collide across routes
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Counter(Base):
    """Named sequences that work the same on SQLite and PostgreSQL (MRNs)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditEvent(Base):
    """Who did what to which patient's data, when and from where (HIPAA audit controls).

    Append-only and hash-chained (ops_api/audit.py): `hash` covers every other field and `prev_hash`,
    the previous event's `hash`, so an edited, deleted or inserted event breaks `pms audit verify`.
    """

    __tablename__ = "audit_events"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)  # gapless, set by audit.py
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    username: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20), index=True)  # read | create | update | delete | denied | login ...
    route: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    status_code: Mapped[int] = mapped_column(Integer)
    entity: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(36))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    client_addr: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class RevokedToken(Base):
    """Access tokens signed out before they expire (`POST /auth/logout`); rows past `expires_at` are pruned."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
