"""Appointments: booking, rescheduling, status moves."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, StringConstraints, ValidationInfo, field_validator

from ops_api.schemas.common import ReadModel, ShortText, StrictInput
from pms.enums import AppointmentStatus

MAX_DURATION = timedelta(hours=8)
AppointmentType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]


def _utc(v: datetime) -> datetime:
    """In UTC, as stored; within years where conversion and date arithmetic cannot overflow (year 1 or
    9999 with an offset would be a 500)."""
    if not 2000 <= v.year <= 2100:
        raise ValueError("must be between the years 2000 and 2100")
    return v.astimezone(UTC)


# Naive times are refused: a booking's instant must not depend on the server's timezone.
Instant = Annotated[AwareDatetime, AfterValidator(_utc)]


def duration_problem(starts_at: datetime, ends_at: datetime) -> str | None:
    """The one rule for an appointment's length, used on booking and on rescheduling."""
    if ends_at <= starts_at:
        return "ends_at must be after starts_at"
    if ends_at - starts_at > MAX_DURATION:
        return f"an appointment may last at most {MAX_DURATION.total_seconds() / 3600:g} hours"
    return None


class AppointmentCreate(StrictInput):
    patient_id: uuid.UUID
    provider_id: uuid.UUID
    facility_id: uuid.UUID
    starts_at: Instant
    ends_at: Instant
    appointment_type: AppointmentType
    reason: ShortText | None = None
    rescheduled_from_id: uuid.UUID | None = None

    @field_validator("ends_at")
    @classmethod
    def _duration(cls, v: datetime, info: ValidationInfo) -> datetime:
        # On ends_at (not the model) so the 422 names the field; skipped if starts_at was itself invalid.
        starts_at = info.data.get("starts_at")
        if starts_at is not None and (problem := duration_problem(starts_at, v)):
            raise ValueError(problem)
        return v


class AppointmentUpdate(StrictInput):
    """A reschedule or an edit; only while the appointment is scheduled or confirmed."""

    starts_at: Instant | None = None
    ends_at: Instant | None = None
    provider_id: uuid.UUID | None = None
    appointment_type: AppointmentType | None = None
    reason: ShortText | None = None
    reminder_sent_at: Instant | None = None

    @field_validator("starts_at", "ends_at", "provider_id", "appointment_type")
    @classmethod
    def _not_null(cls, v, info: ValidationInfo):
        # Runs only for fields the client sent: omitting keeps the value, an explicit null is an error.
        if v is None:
            raise ValueError(f"{info.field_name} cannot be null")
        return v


class AppointmentStatusIn(StrictInput):
    status: AppointmentStatus


class AppointmentPublic(ReadModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    provider_id: uuid.UUID
    facility_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    appointment_type: str
    status: AppointmentStatus
    reason: str | None
    booked_at: datetime
    reminder_sent_at: datetime | None
    status_changed_at: datetime | None
    rescheduled_from_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    # Latest calibrated no-show risk from ClickHouse ml.latest_no_show, on lists (ops_api/risk.py);
    # null when the appointment is not scored or the warehouse is unreachable.
    no_show_probability: float | None = None
