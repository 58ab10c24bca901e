"""Where the replicator stands, and how it survives events that commit out of `seq` order.

The choice: **gap tracking with a transaction horizon** (no fixed timeout on PostgreSQL).

Every event read above `high_water` is loaded at once. A seq missing below `high_water` is a
*gap*: an event that is still in flight (its transaction took the seq but has not committed),
or one that will never exist (rolled back, pruned). Each step re-probes the open gaps, loads
what committed meanwhile, and closes a gap only when it provably cannot commit any more:

* PostgreSQL: a gap records a transaction id assigned right after it was observed (`token`);
  every transaction that could own it has an xid below that (the ops session writes the entity
  row, which assigns the xid, before the outbox insert takes the seq, and xids are assigned in
  increasing order). The gap is dead once the snapshot `xmin` taken *before* the probe has
  passed the token: all those transactions have ended, so had it committed the probe would have
  returned it. (Not the snapshot's `xmax`: that is one past the highest *completed* xid, and a
  running transaction can hold a higher one; stamping gaps with it lost events under load.)
* SQLite: one writer at a time, seqs commit in order, so a gap is dead the moment it is seen.
* Any other store: a gap older than `gap_timeout` seconds is taken as rolled back.

Loading never waits on a gap: events above it are loaded as they are read. Only `position`
(the low-water mark: the highest seq below which nothing can still arrive) waits, and with it
outbox pruning; so a long transaction anywhere in the PostgreSQL cluster (the snapshot xmin is
cluster-wide) delays pruning, never data.
State is saved to `raw._replication_state` only after the batch it describes is in ClickHouse;
a crash in between re-delivers that batch, which readers dedupe by `_version`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from warehouse.raw_schema import STATE_TABLE

STREAM = "outbox"


@dataclass(frozen=True)
class Gap:
    lo: int
    hi: int  # inclusive
    token: int  # PostgreSQL: an xid assigned just after it was first seen; 0 elsewhere
    since: datetime


@dataclass(frozen=True)
class Horizon:
    """What the store says about transactions that might still commit old seqs.

    `floor`: every transaction with an id below it has ended (None: unknown, use the timeout).
    `token`: stamped on new gaps; a gap is dead once `floor >= token`.
    """

    floor: int | None
    token: int = 0


@dataclass(frozen=True)
class ReplicationState:
    position: int = 0
    high_water: int = 0
    gaps: tuple[Gap, ...] = ()
    revision: int = 0
    events_loaded: int = 0
    updated_at: datetime | None = None
    source: str = field(default="", compare=False)


def _split(gap: Gap, found: list[int]) -> list[Gap]:
    """The parts of `gap` not covered by the sorted seqs in `found`."""
    parts, lo = [], gap.lo
    for seq in found[bisect.bisect_left(found, gap.lo):bisect.bisect_right(found, gap.hi)]:
        if seq > lo:
            parts.append(replace(gap, lo=lo, hi=seq - 1))
        lo = seq + 1
    if lo <= gap.hi:
        parts.append(replace(gap, lo=lo))
    return parts


def _dead(gap: Gap, before: Horizon, now: datetime, gap_timeout: float) -> bool:
    if before.floor is not None:
        return before.floor >= gap.token
    return (now - gap.since).total_seconds() >= gap_timeout


def advance(state: ReplicationState, new_seqs: list[int], found: list[int], before: Horizon, after: Horizon,
            now: datetime, gap_timeout: float) -> ReplicationState:
    """The state after loading `new_seqs` (read above high_water, ascending) and `found` (probed gaps).

    `before` was taken before the reads (it decides which gaps are dead); `after` right after
    them (its token is stamped on the gaps first seen now).
    """
    found = sorted(found)
    gaps = [part for gap in state.gaps for part in _split(gap, found)]
    prev = state.high_water
    for seq in new_seqs:
        if seq > prev + 1:
            gaps.append(Gap(prev + 1, seq - 1, after.token, now))
        prev = max(prev, seq)
    gaps = [g for g in gaps if not _dead(g, before, now, gap_timeout)]
    gaps.sort(key=lambda g: g.lo)
    position = gaps[0].lo - 1 if gaps else prev
    return ReplicationState(position=position, high_water=prev, gaps=tuple(gaps), revision=state.revision + 1,
                            events_loaded=state.events_loaded + len(new_seqs) + len(found), updated_at=now,
                            source=state.source)


# --- persistence in ClickHouse -----------------------------------------------------------------

_COLUMNS = ["stream", "revision", "source", "position", "high_water", "gap_lo", "gap_hi", "gap_token", "gap_since",
            "events_loaded", "updated_at"]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def load_state(client, database: str) -> ReplicationState:
    """The last saved state (the highest revision), or a fresh one."""
    rows = client.query(
        f"SELECT {', '.join(_COLUMNS[1:])} FROM `{database}`.`{STATE_TABLE}` WHERE stream = {{s:String}} "
        "ORDER BY revision DESC LIMIT 1", parameters={"s": STREAM}).result_rows
    if not rows:
        return ReplicationState()
    revision, source, position, high_water, lo, hi, token, since, loaded, updated_at = rows[0]
    gaps = tuple(Gap(*g[:3], _utc(g[3])) for g in zip(lo, hi, token, since, strict=True))
    return ReplicationState(position, high_water, gaps, revision, loaded, _utc(updated_at), source)


def save_state(client, database: str, state: ReplicationState) -> None:
    g = state.gaps
    client.insert(f"{database}.{STATE_TABLE}", [[
        STREAM, state.revision, state.source, state.position, state.high_water, [x.lo for x in g], [x.hi for x in g],
        [x.token for x in g], [x.since for x in g], state.events_loaded, state.updated_at or datetime.now(UTC),
    ]], column_names=_COLUMNS)
