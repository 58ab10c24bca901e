"""Declarative base: UUID primary keys and created/updated stamps on every row."""

import uuid
from datetime import datetime

from sqlalchemy import MetaData, Uuid, event, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ops_api.clock import new_id
from ops_api.models.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _entity_id(context) -> uuid.UUID:
    """Assigned at flush; per table, so a seeded id source gives the same ids on every write path."""
    return new_id(context.current_column.table.name)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Entity(Base):
    """A replicated business entity: every insert, update and delete goes to the outbox."""

    __abstract__ = True
    replicated = True

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_entity_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@event.listens_for(Entity, "before_update", propagate=True)
def _touch_updated_at(mapper, _connection, target) -> None:
    """Stamp `updated_at` per row. (A column `onupdate` default is evaluated once per batched
    UPDATE, so rows flushed together would get one shared value that differs from the outbox's.)"""
    state = inspect(target)
    changed = any(state.attrs[col.key].history.has_changes() for col in mapper.column_attrs if col.key != "updated_at")
    if changed and not state.attrs.updated_at.history.has_changes():
        target.updated_at = utcnow()
