"""Column types that keep money exact, time in UTC and PHI identifiers encrypted, on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger, DateTime, Numeric, Text
from sqlalchemy.types import TypeDecorator

from ops_api import crypto

CENT = Decimal("0.01")


def to_money(value: Decimal | int | str) -> Decimal:
    """Quantize to cents; the one rounding rule for money in the project."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class Money(TypeDecorator):
    """Numeric(12,2) on PostgreSQL; integer cents on SQLite, which has no exact decimal type.

    Storing cents keeps SQL sums exact on SQLite too; Python always sees `Decimal`.
    """

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(12, 2, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = to_money(value)
        return int(value * 100) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(CENT)
        return to_money(value)


class UTCDateTime(TypeDecorator):
    """Timezone-aware in Python, UTC in storage; naive datetimes are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times must carry a UTC offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


from ops_api.clock import utcnow  # noqa: E402,F401  (the one clock; re-exported for models)


class EncryptedString(TypeDecorator):
    """Text encrypted at rest with the configured Fernet keys (ops_api/crypto.py); plaintext in Python.

    Randomised encryption, so the column cannot be searched or joined by value; the outbox carries a
    keyed pseudonym of it instead (ops_api/outbox.py).
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect):
        return None if value is None else crypto.encrypt(value)

    def process_result_value(self, value: str | None, dialect):
        return None if value is None else crypto.decrypt(value)
