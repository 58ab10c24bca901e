"""Change replication: the operational outbox → ClickHouse `raw.<table>`, one row per entity version.

Delivery is at-least-once. A batch is written, then its position is saved in
`raw._replication_state`; a crash in between writes the batch again on restart. Out-of-order
commits on PostgreSQL are handled by gap tracking (see state.py): nothing is lost. A follower
prunes replicated outbox rows (default with `--follow`) a few short transactions per step, so a
large pruning backlog (a freshly seeded practice: 37M rows) never holds new events back.

Contract for readers (dbt staging models rely on it)
----------------------------------------------------
`raw.<table>` (table = the operational table name, e.g. `raw.claims`) has every model column
plus:
  `_version UInt64`   outbox seq of the change; a larger version is a later state of the row
  `_deleted UInt8`    1: the entity was deleted by this version (the row holds its last values)
  `_replicated_at DateTime64(3, 'UTC')`  load time (differs between re-deliveries; never dedupe on it)
The same (`id`, `_version`) may appear more than once (re-delivery) and older versions linger
until background merges, so a reader MUST pick the latest version per `id` and drop deletes:

    select * except (_version, _deleted, _replicated_at)
    from raw.claims final          -- ReplacingMergeTree(_version, _deleted): latest per id, deletes dropped
    where _deleted = 0             -- redundant with FINAL, kept for clarity

or, without FINAL, filter deletes only AFTER picking the latest version (filtering first would
resurrect the version before a delete):

    select * from (select * from raw.claims order by _version desc limit 1 by id) where _deleted = 0
    -- or: select id, argMax(col, _version) ... group by id having argMax(_deleted, _version) = 0

Never `count()` or `sum()` raw rows directly.

Type notes: money Decimal(18, 2); times DateTime64(6, 'UTC'); dates Date32; times of day
String 'HH:MM:SS'; JSON dicts String (JSON text); JSON lists Array(String|Int32), where a NULL
list reads as [] (ClickHouse has no Nullable(Array)).
"""

from warehouse.replication.replicator import Replicator, ReplicationStatus, replication_status

__all__ = ["Replicator", "ReplicationStatus", "replication_status"]
