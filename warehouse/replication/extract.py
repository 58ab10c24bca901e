"""Reading (and pruning) the operational outbox.

Reads are keyset-paginated (`seq > x ORDER BY seq LIMIT n` on the primary key), each in its
own short transaction, so the replicator never holds a snapshot or a lock the API would wait
on. Payloads are returned as the JSON text they were written as; nothing here parses them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, and_, delete, func, or_, select, text

from ops_api.models.infra import OutboxEvent
from warehouse.replication.state import Gap, Horizon

Event = tuple[int, str, str, str]  # seq, entity, op, payload

_T = OutboxEvent.__table__
_SEQ = _T.c.seq
_NEVER = 2**63 - 1
_PROBE_CHUNK = 200  # gap ranges per probe statement


def _in_gaps(gaps: Iterable[Gap]):
    return or_(*(_SEQ.between(g.lo, g.hi) if g.lo != g.hi else _SEQ == g.lo for g in gaps))


class Outbox:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self._prune_from: int | None = None  # where the last prune stopped
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._read_sql = (f"SELECT seq, entity, op, payload FROM {_T.name} WHERE seq > {mark} "
                          f"ORDER BY seq LIMIT {mark}")

    def describe(self) -> str:
        """The store, without credentials, for the state record."""
        return self.engine.url.render_as_string(hide_password=True)

    def read_after(self, seq: int, limit: int) -> list[Event]:
        """The next `limit` events above `seq`, straight from the DBAPI cursor (the hot path: no Row objects)."""
        with self.engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute(self._read_sql, (seq, limit))
                return cursor.fetchall()
            finally:
                cursor.close()

    def read_gaps(self, gaps: tuple[Gap, ...]) -> list[Event]:
        """Events that committed inside open gaps since they were seen (few: late or long transactions)."""
        out: list[Event] = []
        with self.engine.connect() as conn:
            for i in range(0, len(gaps), _PROBE_CHUNK):
                query = select(_SEQ, _T.c.entity, _T.c.op, _T.c.payload).where(_in_gaps(gaps[i:i + _PROBE_CHUNK]))
                out.extend(tuple(r) for r in conn.execute(query.order_by(_SEQ)))
        return out

    def horizon(self, stamp: bool = False) -> Horizon:
        """See state.py: PostgreSQL's snapshot xmin, and with `stamp` a fresh transaction id (the
        token of gaps seen now); SQLite cannot have in-flight seqs below a committed one.

        The token is `pg_current_xact_id()`, not the snapshot's xmax: xmax is one past the highest
        *completed* xid, so a transaction that took its xid after a later-completing one and is
        still running can hold an xid at or above it. A new xid is above every xid assigned so far.
        It costs one xid per step that read new events, and is rolled back at once.
        """
        if self.dialect == "postgresql":
            token = ", pg_current_xact_id()::text::bigint" if stamp else ", 0"
            with self.engine.connect() as conn:
                floor, token = conn.execute(text(
                    f"SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint{token}")).one()
            return Horizon(floor, token)
        if self.dialect == "sqlite":
            return Horizon(_NEVER, 0)
        return Horizon(None)

    def pending(self, high_water: int, gaps: tuple[Gap, ...]) -> tuple[int, datetime | None]:
        """Events not yet replicated: above high water or committed inside an open gap; and the oldest one's time."""
        where = _SEQ > high_water
        if gaps:
            where = or_(where, _in_gaps(gaps[:_PROBE_CHUNK]))
        with self.engine.connect() as conn:
            count, oldest = conn.execute(select(func.count(), func.min(_T.c.occurred_at)).where(where)).one()
        return count, oldest

    def prune(self, upto: int, chunk: int = 10_000, max_chunks: int | None = None) -> int:
        """Delete events at or below `upto` in short transactions of at most `chunk` seqs, at most
        `max_chunks` of them per call (a follower prunes a large backlog a little per step, so
        replication never waits behind it). Returns the rows deleted; `pruned(upto)` says when done.

        Safe to repeat and never reuses a seq: PostgreSQL's sequence and SQLite's AUTOINCREMENT
        both keep counting past deleted rows. Where the last call stopped is remembered, since
        min(seq) slows down over the dead index entries a prune leaves until vacuum.
        """
        low = self._prune_from
        if low is None:
            with self.engine.connect() as conn:
                low = conn.scalar(select(func.min(_SEQ)))
        deleted = chunks = 0
        while low is not None and low <= upto and (max_chunks is None or chunks < max_chunks):
            high = min(upto, low + chunk - 1)
            with self.engine.begin() as conn:
                deleted += conn.execute(delete(_T).where(and_(_SEQ >= low, _SEQ <= high))).rowcount
            low, chunks = high + 1, chunks + 1
        self._prune_from = low
        return deleted

    def pruned(self, upto: int) -> bool:
        """Whether the last prune reached past `upto` (or found the outbox empty)."""
        return self._prune_from is None or self._prune_from > upto
