"""The time and the ids the service layer sees, controllable for simulation.

Production uses the wall clock and random UUIDs. The simulator replays years of history through
the same services, so it sets a simulated "now" and a seeded id source per operation; that is what
makes `pms seed --seed N` byte-identical and lets the bulk path reproduce the service path's rows.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_now: ContextVar[datetime | None] = ContextVar("pms_now", default=None)
_ids: ContextVar[Callable[[str], uuid.UUID] | None] = ContextVar("pms_ids", default=None)


def utcnow() -> datetime:
    return _now.get() or datetime.now(UTC)


def local_today(timezone: str) -> date:
    """Today's date at a facility: a date of service is a local date."""
    return utcnow().astimezone(ZoneInfo(timezone)).date()


def new_id(table: str) -> uuid.UUID:
    factory = _ids.get()
    return factory(table) if factory else uuid.uuid4()


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    if moment.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    token = _now.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _now.reset(token)


@contextmanager
def id_source(factory: Callable[[str], uuid.UUID]) -> Iterator[None]:
    token = _ids.set(factory)
    try:
        yield
    finally:
        _ids.reset(token)
