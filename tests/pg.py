"""Throwaway PostgreSQL schemas for tests: every suite that needs a real PostgreSQL store uses these.

Names carry the process id, so concurrent runs against one server never share (or drop) each other's tables.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from ops_api.db import make_engine

PG_BASE_URL = os.environ.get("PMS_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def schema_name(tag: str) -> str:
    return f"{tag}_{os.getpid()}"


def schema_url(schema: str) -> str:
    return f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"


def _admin(*statements: str) -> None:
    engine = make_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.execute(text(sql))
    finally:
        engine.dispose()


def create_schema(schema: str) -> str:
    """An empty schema (an older one of the same name is dropped first); returns its URL."""
    _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE", f"CREATE SCHEMA {schema}")
    return schema_url(schema)


def drop_schema(schema: str) -> None:
    _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@contextmanager
def pg_schema(tag: str) -> Iterator[str]:
    """A fresh schema named for `tag` and this process, dropped on exit; yields its URL."""
    schema = schema_name(tag)
    url = create_schema(schema)
    try:
        yield url
    finally:
        drop_schema(schema)
