"""Retry only what a retry can fix.

Every asset that talks to the warehouse carries `WAREHOUSE_RETRY` (exponential backoff with
jitter) and runs its body inside `retry_only_transient()`: a dropped connection, a timeout, an
overloaded server or a locked SQLite file is re-raised so Dagster retries the step; a wrong query, a
failing dbt test or a model that cannot be trained becomes a `Failure` with retries disabled, so a
deterministic error fails once and loudly instead of four times slowly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg
from clickhouse_connect.driver.exceptions import DatabaseError as ClickHouseDatabaseError
from clickhouse_connect.driver.exceptions import OperationalError as ClickHouseOperationalError
from sqlalchemy.exc import OperationalError as SqlOperationalError

from warehouse.replication.replicator import describe_error

WAREHOUSE_RETRY = dg.RetryPolicy(max_retries=4, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

# ClickHouse codes that describe load or the network rather than the query.
TRANSIENT_CODES = frozenset({
    3,  # UNEXPECTED_END_OF_FILE
    159,  # TIMEOUT_EXCEEDED
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    209,  # SOCKET_TIMEOUT
    210,  # NETWORK_ERROR
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY
})


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ClickHouseOperationalError | SqlOperationalError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, ClickHouseDatabaseError):
        return getattr(exc, "code", None) in TRANSIENT_CODES
    return False


@contextmanager
def retry_only_transient(still_reachable: Callable[[], bool] | None = None) -> Iterator[None]:
    """Re-raise transient errors (retried by the step's RetryPolicy); turn the rest into a final Failure.

    `still_reachable` settles errors that do not say what caused them (a failed dbt build): when the
    warehouse no longer answers, the failure is taken as transient.
    """
    try:
        yield
    except dg.Failure:
        raise
    except Exception as exc:
        if is_transient(exc) or (still_reachable is not None and not still_reachable()):
            raise
        # describe_error: class and ClickHouse code only, since server messages may quote PHI.
        raise dg.Failure(description=f"not retried: {describe_error(exc)}", allow_retries=False) from exc
