"""Audit trail events as the admin audit-log returns them."""

import uuid
from datetime import datetime

from ops_api.schemas.common import ReadModel


class AuditEventPublic(ReadModel):
    seq: int
    occurred_at: datetime
    user_id: uuid.UUID | None
    username: str | None
    role: str | None
    action: str
    route: str
    method: str
    status_code: int
    entity: str | None
    entity_id: str | None
    patient_id: uuid.UUID | None
    client_addr: str | None
    request_id: str | None
    prev_hash: str
    hash: str
