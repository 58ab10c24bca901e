"""A canonical dump of what the simulator wrote, for comparing runs and write paths.

Values are read through the models' column types (money as Decimal, times as UTC, encrypted columns
decrypted): encrypted columns are stored with a random IV by design, so their ciphertext differs on
every write while the plaintext, and the outbox's pseudonym of it, are identical. The audit trail is
left out: it records the wall-clock time of each request (ops_api/audit.py), by design.
"""

from sqlalchemy import Engine, select

from ops_api.models import Base, OutboxEvent, replicated_tables

EXTRA_TABLES = ("users", "counters")


def dump(engine: Engine) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for name in [*replicated_tables(), *EXTRA_TABLES]:
            table = Base.metadata.tables[name]
            key = table.c.id if "id" in table.c else table.c.name
            out[name] = [tuple(row) for row in conn.execute(select(table).order_by(key))]
        table = OutboxEvent.__table__
        out["outbox"] = [tuple(row) for row in conn.execute(select(table).order_by(table.c.seq))]
    return out
