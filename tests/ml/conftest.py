"""The warehouse team's fixtures (embedded ClickHouse per worker, a throwaway database per test).

Imported rather than redefined; if they move to tests/conftest.py this import can go.
"""

from tests.warehouse.conftest import client, database, embedded_server, target  # noqa: F401
