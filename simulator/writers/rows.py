"""A row store that stands in for the ORM session in the bulk writer.

It keeps the current version of every row as a dict, fills the defaults the models would (seeded
id at insert, created_at/updated_at from the simulated clock, column defaults), and turns every
insert and every real change into the outbox event the ORM hooks would write: the payload is built
with ops_api.outbox's own conversions (money as strings, ISO times, pseudonyms for encrypted
columns) in the mapper's column order, so the JSON is byte-identical.

`flush(events)` mirrors one Session.flush(): within a flush the ORM writes tables parent-first
(the metadata's sorted order, ties by name), inserts before updates of one table.
"""

import json
from datetime import datetime
from enum import Enum

from sqlalchemy import JSON, Boolean, Date, Integer, Numeric, String, Text, Time, Uuid, inspect

from ops_api.crypto import pseudonym
from ops_api.models import Base
from ops_api.models.types import EncryptedString, Money, UTCDateTime
from ops_api.outbox import _json_value

from simulator.ids import Ids

RANK = {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}


_ISO: dict = {}  # value → ISO text; the same instants recur in many rows (created_at = updated_at = op time)


def _iso(v):
    text = _ISO.get(v)
    if text is None:
        if len(_ISO) > 200_000:
            _ISO.clear()
        text = _ISO[v] = v.isoformat()
    return text


def _text(v):
    return v if v.__class__ is str else str(v)


def _enum(v):
    return v.value if isinstance(v, Enum) else v


def _converter(coltype):
    """The outbox conversion of one column's values (ops_api.outbox._json_value, specialised by type:
    one call per value instead of a chain of isinstance tests)."""
    if isinstance(coltype, EncryptedString):
        return pseudonym
    if isinstance(coltype, (UTCDateTime, Date, Time)):
        return _iso
    if isinstance(coltype, Uuid):
        return _text  # the bulk writer keeps ids as their canonical strings
    if isinstance(coltype, (Money, Numeric)):
        return str
    if getattr(coltype, "enum_class", None) is not None:
        return _enum
    if isinstance(coltype, (String, Text, Integer, Boolean, JSON)):
        return None
    return _json_value


_dumps = json.JSONEncoder(separators=(",", ":")).encode  # what json.dumps(..., separators=(",", ":")) does
_quote = json.encoder.encode_basestring_ascii  # the escaper json.dumps uses (ensure_ascii=True)


class Spec:
    """Per model: column keys in mapper order, defaults, encrypted columns."""

    def __init__(self, model):
        mapper = inspect(model)
        self.model = model
        self.table = model.__tablename__
        self.keys = [attr.key for attr in mapper.column_attrs]
        self.fragments = [(attr.key, _quote(attr.key) + ":", _converter(attr.columns[0].type))
                          for attr in mapper.column_attrs]
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

    def payload(self, row: dict) -> str:
        """json.dumps(row_payload, separators=(",", ":")), assembled from per-column fragments:
        strings go through the json module's own C escaper, so the text is the same."""
        parts = []
        for key, head, conv in self.fragments:
            v = row[key]
            if v is None:
                parts.append(head + "null")
                continue
            if conv is not None:
                v = conv(v)
            cls = v.__class__
            if cls is str:
                parts.append(head + _quote(v))
            elif cls is bool:
                parts.append(head + ("true" if v else "false"))
            elif cls is int:
                parts.append(head + int.__repr__(v))
            else:
                parts.append(head + _dumps(v))
        return "{" + ",".join(parts) + "}"


class RowStore:
    def __init__(self, ids: Ids):
        self.ids = ids
        self.specs: dict[type, Spec] = {}
        self.dirty: dict[str, dict] = {}  # table → {id: row}, first-touch order
        self.outbox: list[dict] = []

    def spec(self, model) -> Spec:
        if model not in self.specs:
            self.specs[model] = Spec(model)
        return self.specs[model]

    def flush(self, now: datetime, events: list[tuple]) -> None:
        """events: ("insert", model, values) → a new row; ("update", model, row, changes). Returns
        nothing; inserted rows are stored into the `into` list given as a fourth element, if any."""
        ordered = sorted(enumerate(events), key=lambda e: (RANK[e[1][1].__tablename__], e[1][0] != "insert", e[0]))
        for _, event in ordered:
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

    def _emit(self, spec: Spec, row: dict, now: datetime) -> None:
        self.dirty.setdefault(spec.table, {})[row["id"]] = row
        self.outbox.append({"entity": spec.table, "entity_id": row["id"], "op": "upsert",
                            "payload": spec.payload(row), "occurred_at": now})
