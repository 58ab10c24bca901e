"""A row store that stands in for the ORM session in the bulk writer.

It keeps the current version of every row as a dict, fills the defaults the models would (seeded
id at insert, created_at/updated_at from the simulated clock, column defaults), and records every
insert and every real change as an event: the row's values at that moment, in its table's column
order. The loader process turns each event into the outbox row the ORM hooks would write
(payloads.py) and the last one of each row into its table row.

Within one Session.flush() the ORM writes tables parent-first (the metadata's sorted order, ties by
name), inserts before updates of one table; the bulk writer's handlers call `insert` and `update` in
that order.
"""

from collections.abc import Callable
from datetime import datetime
from operator import itemgetter

from sqlalchemy import Table, inspect

from simulator.ids import Ids
from simulator.writers.sink import Batch

TAKE = "_take"  # in a row dict: the number of the batch that inserted it (not a column)


def snapshot(table: Table) -> Callable[[dict], tuple]:
    """Row dict → its values in the table's column order (what an event and a Batch carry)."""
    return itemgetter(*(c.name for c in table.columns))


class Spec:
    """Per model: a row with its column defaults to copy, the snapshot of a row, the id source."""

    def __init__(self, model, ids: Ids):
        mapper = inspect(model)
        self.model = model
        self.table = model.__tablename__
        self.values = snapshot(model.__table__)
        self.next_id = ids.text_source(self.table)
        self.template: dict = {attr.key: None for attr in mapper.column_attrs}
        self.lists: list[str] = []  # JSON columns with default=list: a new list per row
        for attr in mapper.column_attrs:
            col = attr.columns[0]
            if attr.key in ("id", "created_at", "updated_at") or col.default is None:
                continue
            if col.default.is_scalar:
                self.template[attr.key] = col.default.arg
            elif col.default.is_callable and col.default.arg.__wrapped__ is list:
                self.lists.append(attr.key)
            else:
                raise NotImplementedError(f"{self.table}.{attr.key}: unsupported default {col.default!r}")

    def new(self, **values) -> dict:
        """A row for a later insert: defaults filled, id assigned at the insert."""
        row = self.template.copy()
        for key in self.lists:
            row[key] = []
        row.update(values)
        return row


class Specs(dict):
    """model → its Spec, made on first use."""

    def __init__(self, ids: Ids):
        super().__init__()
        self.ids = ids

    def __missing__(self, model) -> Spec:
        spec = self[model] = Spec(model, self.ids)
        return spec


class RowStore:
    def __init__(self, ids: Ids):
        self.specs = Specs(ids)
        self.events: list[tuple] = []  # (table, row values, at or None for no outbox event), in order
        self.seen: dict[str, set[str]] = {}  # table → ids of rows changed now that an earlier batch wrote
        self.taken = 0  # batches taken so far

    def insert(self, now: datetime, spec: Spec, row: dict) -> dict:
        """A new row: its id assigned, its timestamps set, its values recorded."""
        row["id"] = spec.next_id()
        row["created_at"] = row["updated_at"] = now
        row[TAKE] = self.taken
        self.events.append((spec.table, spec.values(row), now))
        return row

    def update(self, now: datetime, spec: Spec, row: dict, changes: dict) -> None:
        """A new version of the row, if anything changed (as the ORM writes none otherwise)."""
        for key, value in changes.items():
            if row[key] != value:
                break
        else:
            return
        row.update(changes)
        row["updated_at"] = now
        if row[TAKE] != self.taken:
            self.seen.setdefault(spec.table, set()).add(row["id"])
        self.events.append((spec.table, spec.values(row), now))

    def insert_quietly(self, table: Table, row: dict) -> None:
        """A row the ORM writes without an outbox event (a user: staff accounts do not replicate)."""
        self.events.append((table.name, snapshot(table)(row), None))

    def take(self) -> Batch:
        """The events since the last batch (each row's values when it changed: later ops go on
        changing the rows), and which of the rows they touch an earlier batch wrote."""
        batch = Batch(events=self.events, seen=self.seen)
        self.events, self.seen = [], {}
        self.taken += 1
        return batch
