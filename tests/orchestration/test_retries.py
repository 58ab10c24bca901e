"""Only transient failures are retried; a deterministic one fails once."""

import dagster as dg
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from sqlalchemy.exc import OperationalError as SqlOperationalError

from orchestration.retries import WAREHOUSE_RETRY, is_transient, retry_only_transient


@pytest.mark.parametrize(("exc", "transient"), [
    (OperationalError("connection refused"), True),
    (SqlOperationalError("select 1", {}, Exception("database is locked")), True),
    (ConnectionResetError(), True),
    (DatabaseError("Code: 202. Too many simultaneous queries", code=202), True),
    (DatabaseError("Code: 60. Unknown table", code=60), False),
    (ValueError("training window too short"), False),
])
def test_is_transient(exc, transient):
    assert is_transient(exc) is transient


def test_transient_errors_pass_through_for_the_retry_policy():
    with pytest.raises(OperationalError), retry_only_transient():
        raise OperationalError("timed out")


def test_deterministic_errors_become_final_failures():
    with pytest.raises(dg.Failure) as raised, retry_only_transient():
        raise DatabaseError("Code: 62. Syntax error: SELECT patient_ssn FROM ...", code=62)
    assert raised.value.allow_retries is False
    assert "patient_ssn" not in raised.value.description  # server messages may quote data


def test_unexplained_failure_is_transient_when_the_warehouse_is_gone():
    with pytest.raises(RuntimeError), retry_only_transient(still_reachable=lambda: False):
        raise RuntimeError("dbt build failed")
    with pytest.raises(dg.Failure), retry_only_transient(still_reachable=lambda: True):
        raise RuntimeError("dbt build failed")


def test_retry_policy_backs_off_exponentially():
    assert WAREHOUSE_RETRY.max_retries >= 3
    assert WAREHOUSE_RETRY.backoff == dg.Backoff.EXPONENTIAL


def test_a_retried_step_succeeds_after_transient_failures():
    attempts = []

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=3, delay=0.01, backoff=dg.Backoff.EXPONENTIAL))
    def flaky():
        attempts.append(1)
        with retry_only_transient():
            if len(attempts) < 3:
                raise OperationalError("connection reset")
        return 1

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=3, delay=0.01))
    def broken():
        attempts.append(1)
        with retry_only_transient():
            raise DatabaseError("Code: 47. Unknown identifier", code=47)

    assert dg.materialize([flaky]).success and len(attempts) == 3
    attempts.clear()
    assert not dg.materialize([broken], raise_on_error=False).success and len(attempts) == 1
