"""No-show risk for appointment lists, read from ClickHouse `ml.latest_no_show` (written by `pms ml score`).

The operational API must keep working when the warehouse is down or nothing is scored yet: then the
risk is simply absent (null), and the warehouse is not asked again for a short while.
"""

import logging
import time
import uuid
from collections.abc import Iterable

from warehouse.client import get_client

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30.0
_QUERY = "SELECT appointment_id, probability FROM ml.latest_no_show WHERE appointment_id IN {ids:Array(UUID)}"
_down_until = 0.0


def no_show_probabilities(appointment_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, float]:
    global _down_until
    ids = list(appointment_ids)
    if not ids or time.monotonic() < _down_until:
        return {}
    try:
        client = get_client(connect_timeout=1, send_receive_timeout=5, autogenerate_session_id=False)
        rows = client.query(_QUERY, parameters={"ids": ids}).result_rows
    except Exception as exc:  # noqa: BLE001 — any warehouse failure degrades to "no score"
        log.warning("no-show scores unavailable: %s", type(exc).__name__)
        _down_until = time.monotonic() + RETRY_AFTER_SECONDS
        return {}
    return {uuid.UUID(str(a)): float(p) for a, p in rows}
