"""Appointments (patient-level data: every read and write is audited)."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from ops_api.api.deps import SessionDep, allow
from ops_api.api.pagination import PageDep, paginate
from ops_api.errors import Invalid
from ops_api.models import Appointment
from ops_api.risk import no_show_probabilities
from ops_api.schemas.appointments import AppointmentCreate, AppointmentPublic, AppointmentStatusIn, AppointmentUpdate
from ops_api.schemas.common import Page
from ops_api.services import appointments as svc
from pms.enums import AppointmentStatus

router = APIRouter(prefix="/appointments", tags=["appointments"])

CONFLICTS = {409: {"description": "double booking, outside the provider's schedule or time off, or an illegal "
                                  "status move; nothing is changed"}}


@router.get("", response_model=Page[AppointmentPublic])
def list_appointments(session: SessionDep, principal: allow("appointments:read"), page: PageDep,
                      facility_id: uuid.UUID | None = None, provider_id: uuid.UUID | None = None,
                      patient_id: uuid.UUID | None = None,
                      status_: Annotated[list[AppointmentStatus] | None, Query(alias="status")] = None,
                      date_from: Annotated[date | None, Query(description="first day, facility-local")] = None,
                      date_to: Annotated[date | None, Query(description="last day (inclusive), facility-local")] = None):
    """Filters combine with AND; `status` may repeat (`?status=scheduled&status=confirmed`). Dates are
    each facility's own calendar days, so "today" means today where the appointment takes place."""
    if date_from and date_to and date_to < date_from:
        raise Invalid([(("query", "date_to"), "date_to must not be before date_from")])
    query = svc.visible_appointments(principal).order_by(Appointment.starts_at, Appointment.id)
    for column, value in ((Appointment.facility_id, facility_id), (Appointment.provider_id, provider_id),
                          (Appointment.patient_id, patient_id)):
        if value is not None:
            query = query.where(column == value)
    if status_:
        query = query.where(Appointment.status.in_(status_))
    if date_from or date_to:
        query = query.where(svc.date_filter(session, date_from, date_to))
    result = paginate(session, query, page)
    for appointment in result["items"]:
        principal.audit(session, "read", "appointments", appointment.id, appointment.patient_id)
    session.commit()
    risk = no_show_probabilities(a.id for a in result["items"])
    result["items"] = [AppointmentPublic.model_validate(a).model_copy(update={"no_show_probability": risk.get(a.id)})
                       for a in result["items"]]
    return result


@router.post("", response_model=AppointmentPublic, status_code=status.HTTP_201_CREATED, responses=CONFLICTS)
def book_appointment(session: SessionDep, principal: allow("appointments:write"), data: AppointmentCreate):
    """Book a visit. With `rescheduled_from_id`, the patient's earlier appointment is cancelled (if it
    still holds its slot) and linked, in the same transaction."""
    appointment, replaced = svc.book(session, principal, data)
    if replaced is not None:
        principal.audit(session, "update", "appointments", replaced.id, replaced.patient_id)
    principal.audit(session, "create", "appointments", appointment.id, appointment.patient_id, 201)
    session.commit()
    return appointment


@router.get("/{appointment_id}", response_model=AppointmentPublic)
def get_appointment(session: SessionDep, principal: allow("appointments:read"), appointment_id: uuid.UUID):
    appointment = svc.get_appointment(session, principal, appointment_id)
    principal.audit(session, "read", "appointments", appointment.id, appointment.patient_id)
    session.commit()
    return appointment


@router.patch("/{appointment_id}", response_model=AppointmentPublic, responses=CONFLICTS)
def update_appointment(session: SessionDep, principal: allow("appointments:write"), appointment_id: uuid.UUID,
                       data: AppointmentUpdate):
    """Reschedule (times, provider) or edit (type, reason, reminder_sent_at) a scheduled or confirmed visit."""
    appointment = svc.reschedule(session, principal, appointment_id, data)
    principal.audit(session, "update", "appointments", appointment.id, appointment.patient_id)
    session.commit()
    return appointment


@router.post("/{appointment_id}/status", response_model=AppointmentPublic, responses=CONFLICTS)
def move_status(session: SessionDep, principal: allow("appointments:write"), appointment_id: uuid.UUID,
                data: AppointmentStatusIn):
    """`scheduled → confirmed → checked_in → completed`; `scheduled|confirmed → cancelled|no_show`."""
    appointment = svc.move_status(session, principal, appointment_id, data.status)
    principal.audit(session, "update", "appointments", appointment.id, appointment.patient_id)
    session.commit()
    return appointment
