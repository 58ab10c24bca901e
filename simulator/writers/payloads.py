"""The outbox payload of a row version, as the ORM hooks write it: ops_api.outbox's conversions
(money as strings, ISO times, pseudonyms for encrypted columns) in the mapper's column order,
compact JSON, so the text is byte-identical to the service path's.
"""

import json
from collections.abc import Callable
from enum import Enum

from sqlalchemy import JSON, Boolean, Date, Integer, Numeric, String, Text, Time, Uuid, inspect

from ops_api.crypto import pseudonym
from ops_api.models.types import EncryptedString, Money, UTCDateTime
from ops_api.outbox import _json_value


class Memo(dict):
    """value → convert(value), computed once: the same instants, ids and code lists recur in many
    rows (created_at = updated_at = the op's time; a claim's id in its lines, events and versions;
    modifiers). A dict lookup on a hit. Bounded: cleared when full."""

    def __init__(self, convert: Callable):
        super().__init__()
        self.convert = convert

    def __missing__(self, value):
        if len(self) > 200_000:
            self.clear()
        out = self[value] = self.convert(value)
        return out


_dumps = json.JSONEncoder(separators=(",", ":")).encode  # what json.dumps(..., separators=(",", ":")) does
_quote = json.encoder.encode_basestring_ascii  # the escaper json.dumps uses (ensure_ascii=True)


def json_text(dumps: Callable[[object], str]) -> Callable[[object], str]:
    """`dumps` for a JSON column's value, each distinct list made text once: the JSON columns hold
    short lists of codes or ids (keyed by tuple(list)); anything else goes to `dumps` as it is."""
    lists = Memo(lambda items: dumps(list(items)))
    return lambda v: lists[tuple(v)] if v.__class__ is list else dumps(v)


_quoted_iso = Memo(lambda v: '"' + v.isoformat() + '"')
_quoted_id = Memo(lambda v: '"' + str(v) + '"')  # the bulk writer keeps ids as canonical strings, as str(UUID)
_json = json_text(_dumps)


def _any(v):
    """JSON text of a value of no known column type: ops_api.outbox._json_value, then json.dumps."""
    v = _json_value(v)
    cls = v.__class__
    if cls is str:
        return _quote(v)
    if cls is bool:
        return "true" if v else "false"
    if cls is int:
        return int.__repr__(v)
    return _dumps(v)


def _fragment(coltype) -> str:
    """The expression that turns a column's non-null value `v` into its JSON text: ops_api.outbox's
    conversion specialised by type. ISO times, canonical UUIDs and decimal strings hold nothing
    json would escape, so they are quoted as they are."""
    if isinstance(coltype, EncryptedString):
        return "_quote(pseudonym(v))"
    if isinstance(coltype, (UTCDateTime, Date, Time)):
        return "_quoted_iso[v]"
    if isinstance(coltype, Uuid):
        return "_quoted_id[v]"
    if isinstance(coltype, (Money, Numeric)):
        return "'\"' + str(v) + '\"'"
    if getattr(coltype, "enum_class", None) is not None:
        return "_quote(v.value if isinstance(v, Enum) else v)"
    if isinstance(coltype, (String, Text)):
        return "_quote(v) if v.__class__ is str else _any(v)"
    if isinstance(coltype, Boolean):
        return "('true' if v else 'false') if v.__class__ is bool else _any(v)"
    if isinstance(coltype, Integer):
        return "int.__repr__(v) if v.__class__ is int else _any(v)"
    if isinstance(coltype, JSON):
        return "_json(v)"
    return "_any(v)"


def compile_payload(model) -> Callable[[tuple], str]:
    """json.dumps(row_payload(row), separators=(",", ":")) for one model, as one generated function
    of the row's values in its table's column order (what the writer snapshots): one join of the
    columns' fragments in mapper order, with no per-column dispatch at run time. Strings go through
    the json module's own C escaper, so the text is the same byte for byte
    (tests/simulator/test_paths.py compares it with the service path's)."""
    mapper = inspect(model)
    position = {c.name: i for i, c in enumerate(model.__table__.columns)}
    parts = []
    for i, attr in enumerate(mapper.column_attrs):
        column = attr.columns[0]
        head = ("{" if i == 0 else ",") + _quote(attr.key) + ":"
        parts.append(f"{head!r}, 'null' if (v := row[{position[column.name]}]) is None else {_fragment(column.type)}")
    source = f"def payload(row):\n    return ''.join(({', '.join(parts)}, '}}'))\n"
    namespace = {"_quote": _quote, "_dumps": _dumps, "_quoted_iso": _quoted_iso, "_quoted_id": _quoted_id,
                 "_json": _json, "_any": _any, "pseudonym": pseudonym, "Enum": Enum}
    exec(compile(source, f"<payload of {model.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace["payload"]
