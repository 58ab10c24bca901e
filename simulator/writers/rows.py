"""A row store that stands in for the ORM session in the bulk writer.

It keeps the current version of every row as a dict, fills the defaults the models would (seeded
id at insert, created_at/updated_at from the simulated clock, column defaults), and records every
insert and every real change as an event: the row's values at that moment, in its table's column
order. The loader process turns each event into the outbox row the ORM hooks would write
(payloads.py) and the last one of each row into its table row.

`flush(events)` mirrors one Session.flush(): within a flush the ORM writes tables parent-first
(the metadata's sorted order, ties by name), inserts before updates of one table.
"""

from collections.abc import Callable
from datetime import datetime
from operator import itemgetter

from sqlalchemy import Table, inspect

from ops_api.models import Base

from simulator.ids import Ids

RANK = {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}


def snapshot(table: Table) -> Callable[[dict], tuple]:
    """Row dict → its values in the table's column order (what an event and a Batch carry)."""
    return itemgetter(*(c.name for c in table.columns))


class Spec:
    """Per model: column keys in mapper order, defaults, the snapshot of a row."""

    def __init__(self, model):
        mapper = inspect(model)
        self.model = model
        self.table = model.__tablename__
        self.keys = [attr.key for attr in mapper.column_attrs]
        self.values = snapshot(model.__table__)
        self.defaults: dict[str, object] = {}
        for attr in mapper.column_attrs:
            col = attr.columns[0]
            if attr.key in ("id", "created_at", "updated_at") or col.default is None:
                continue
            if col.default.is_scalar:
                self.defaults[attr.key] = col.default.arg
            elif col.default.is_callable and col.default.arg.__wrapped__ is list:  # JSON default=list
                self.defaults[attr.key] = list
            else:
                raise NotImplementedError(f"{self.table}.{attr.key}: unsupported default {col.default!r}")

    def new_row(self, values: dict) -> dict:
        row = dict.fromkeys(self.keys)
        for key, default in self.defaults.items():
            row[key] = default() if default is list else default
        row.update(values)
        return row


class RowStore:
    def __init__(self, ids: Ids):
        self.ids = ids
        self.specs: dict[type, Spec] = {}
        self.dirty: dict[str, dict] = {}  # table → {id: row}, first-touch order
        self.events: list[tuple] = []  # (table, row values, at or None for no outbox event), in order

    def spec(self, model) -> Spec:
        if model not in self.specs:
            self.specs[model] = Spec(model)
        return self.specs[model]

    def flush(self, now: datetime, events: list[tuple]) -> None:
        """events: ("insert", model, row) → a new row, its id assigned here; ("update", model, row,
        changes) → a new version if anything changed. Ordered as the ORM orders one flush (sorted is
        stable, so events of one table and kind keep their order)."""
        if len(events) > 1:
            events = sorted(events, key=lambda e: (RANK[e[1].__tablename__], e[0] != "insert"))
        for event in events:
            if event[0] == "insert":
                _, model, row = event
                spec = self.spec(model)
                row["id"] = self.ids.text(spec.table)
                row["created_at"] = row["updated_at"] = now
                self._emit(spec, row, now)
            else:
                _, model, row, changes = event
                if any(row[k] != v for k, v in changes.items()):
                    row.update(changes)
                    row["updated_at"] = now
                    self._emit(self.spec(model), row, now)

    def new(self, model, **values) -> dict:
        """A row for a later flush ("insert", model, row): defaults filled, id assigned at flush."""
        return self.spec(model).new_row(values)

    def insert_quietly(self, table: Table, row: dict) -> None:
        """A row the ORM writes without an outbox event (a user: staff accounts do not replicate)."""
        self.dirty.setdefault(table.name, {})[row["id"]] = row
        self.events.append((table.name, snapshot(table)(row), None))

    def _emit(self, spec: Spec, row: dict, now: datetime) -> None:
        self.dirty.setdefault(spec.table, {})[row["id"]] = row
        self.events.append((spec.table, spec.values(row), now))
