"""`admin/audit-log`: who touched which patient's data, for compliance review (admin only)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import select

from ops_api.api.deps import SessionDep, allow
from ops_api.api.pagination import PageDep, paginate
from ops_api.models import AuditEvent
from ops_api.schemas.audit import AuditEventPublic
from ops_api.schemas.common import Page

router = APIRouter(prefix="/admin/audit-log", tags=["admin"])


@router.get("", response_model=Page[AuditEventPublic])
def list_audit_events(session: SessionDep, _: allow("audit:read"), page: PageDep,
                      user_id: uuid.UUID | None = None, patient_id: uuid.UUID | None = None,
                      action: Annotated[str | None, Query(max_length=20)] = None,
                      date_from: AwareDatetime | None = None, date_to: AwareDatetime | None = None):
    """Newest first. `date_from` is inclusive, `date_to` exclusive; both need a UTC offset."""
    query = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if user_id is not None:
        query = query.where(AuditEvent.user_id == user_id)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if date_from is not None:
        query = query.where(AuditEvent.occurred_at >= date_from)
    if date_to is not None:
        query = query.where(AuditEvent.occurred_at < date_to)
    return paginate(session, query, page)
