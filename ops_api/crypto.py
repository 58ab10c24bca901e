"""Encryption at rest for the few PHI identifiers that need it, and their replication pseudonyms.

Fernet (AES-128-CBC + HMAC-SHA256) under a MultiFernet built from `settings.encryption_keys`:
the first key encrypts, every key decrypts, so a new key can be introduced before the old
ciphertexts are rewritten by `pms keys rotate` (docs/security.md).
"""

import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection, column, func, select, table, update

from pms.settings import get_settings


class DecryptionError(RuntimeError):
    """A stored ciphertext that no configured key opens: a key was removed before rotation."""


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(get_settings().encryption_keys))


def encrypt(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored value does not decrypt with any key in PMS_ENCRYPTION_KEYS") from None


def pseudonym(plaintext: str) -> str:
    """A keyed hash: equal values match across rows (counting distinct members) without revealing them.

    Keyed by PMS_SECRET_KEY rather than the encryption keys, so rotating those leaves pseudonyms stable.
    """
    key = hashlib.sha256(b"pms-pseudonym:" + get_settings().pms_secret_key.get_secret_value().encode()).digest()
    return "hmac:" + hmac.new(key, plaintext.encode(), hashlib.sha256).hexdigest()


def encrypted_columns() -> dict[str, list[str]]:
    """{table: [column, ...]} of every `EncryptedString` column, read off the models."""
    from ops_api.models import Base
    from ops_api.models.types import EncryptedString

    found = {t.name: [c.name for c in t.columns if isinstance(c.type, EncryptedString)]
             for t in Base.metadata.sorted_tables}
    return {name: cols for name, cols in found.items() if cols}


def rotate(conn: Connection, progress: Callable[[], None] | None = None) -> int:
    """Re-encrypt every encrypted value under the current (first) key; returns the rows rewritten.

    Plain SQL on untyped columns, below the ORM: ciphertext in and out, and no outbox event, since a
    re-encryption changes no business data.
    """
    fernet = cipher()
    done = 0
    for name, cols in encrypted_columns().items():
        raw = table(name, column("id"), *(column(c) for c in cols))
        for row in conn.execute(select(raw)).all():
            try:
                values = {c: fernet.rotate(getattr(row, c).encode()).decode()
                          for c in cols if getattr(row, c) is not None}
            except InvalidToken:
                raise DecryptionError(f"{name} {row.id}: no configured key opens it") from None
            if values:
                conn.execute(update(raw).where(raw.c.id == row.id).values(**values))
            done += 1
            if progress:
                progress()
    return done


def encrypted_row_count(conn: Connection) -> int:
    return sum(conn.execute(select(func.count()).select_from(table(name))).scalar_one()
               for name in encrypted_columns())
