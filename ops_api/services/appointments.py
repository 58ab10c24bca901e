"""Appointments: booking against the provider's schedule, no double booking, the status machine.

Slots: a provider's `cancelled` and `no_show` appointments no longer hold their slot (the patient is not
coming, so the time can be given to someone else); every other status does. Intervals are half-open,
[starts_at, ends_at), so one appointment may end exactly when the next starts.
"""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ops_api.clock import utcnow
from ops_api.errors import Conflict, Invalid, NotFound
from ops_api.models import (Appointment, AppointmentStatusEvent, Facility, Patient, Provider, ProviderSchedule,
                            ProviderTimeOff)
from ops_api.principal import Principal
from ops_api.schemas.appointments import AppointmentCreate, AppointmentUpdate, duration_problem
from ops_api.services.patients import visible_patients
from ops_api.status_machines import check_appointment_move
from pms.enums import AppointmentStatus as S

FREEING_STATUSES = frozenset({S.cancelled, S.no_show})
EDITABLE_STATUSES = frozenset({S.scheduled, S.confirmed})


# --- locking ---------------------------------------------------------------------------------------------

def _lock_row(session: Session, model, row_id: uuid.UUID) -> None:
    """Hold a write lock on one row until the transaction ends, so check-then-write cannot interleave.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite has only a database-wide write lock, and python's sqlite3
    opens a transaction at the first DML, so a no-op Core UPDATE takes that lock now (later writers wait
    on busy_timeout). It sets updated_at to itself: Core skips the ORM's outbox and updated_at hooks, so
    the replicated row does not change.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(model.id).where(model.id == row_id).with_for_update())
    else:
        table = model.__table__
        session.execute(update(table).where(table.c.id == row_id).values(updated_at=table.c.updated_at))


def lock_provider_calendar(session: Session, provider_id: uuid.UUID) -> None:
    """Serialize bookings per provider: the overlap check and the insert then act as one step."""
    _lock_row(session, Provider, provider_id)


# --- reading ---------------------------------------------------------------------------------------------

def visible_appointments(principal: Principal):
    """Appointments of the caller's facilities; a physician's own only."""
    query = principal.scope(select(Appointment), Appointment.facility_id)
    if (provider_id := principal.own_provider_id) is not None:
        query = query.where(Appointment.provider_id == provider_id)
    return query


def get_appointment(session: Session, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
    appointment = session.scalar(visible_appointments(principal).where(Appointment.id == appointment_id))
    if appointment is None:
        raise NotFound(f"appointment {appointment_id} not found")
    return appointment


def local_day_bounds(zone: str, date_from: date | None, date_to: date | None) -> tuple[datetime | None, datetime | None]:
    """[start of date_from, start of the day after date_to) in a facility's zone, as UTC instants."""
    tz = ZoneInfo(zone)
    lower = datetime.combine(date_from, time(0), tz).astimezone(UTC) if date_from else None
    upper = datetime.combine(date_to + timedelta(days=1), time(0), tz).astimezone(UTC) if date_to else None
    return lower, upper


def date_filter(session: Session, date_from: date | None, date_to: date | None):
    """`date_from`/`date_to` are dates on each facility's own calendar (what the front desk means by
    "today"), so the UTC bounds differ per facility timezone: one clause per zone."""
    by_zone: dict[str, list[uuid.UUID]] = {}
    for facility_id, zone in session.execute(select(Facility.id, Facility.timezone)):
        by_zone.setdefault(zone, []).append(facility_id)
    clauses = []
    for zone, facility_ids in by_zone.items():
        lower, upper = local_day_bounds(zone, date_from, date_to)
        bounds = [Appointment.starts_at >= lower] if lower else []
        bounds += [Appointment.starts_at < upper] if upper else []
        clauses.append(and_(Appointment.facility_id.in_(facility_ids), *bounds))
    return or_(*clauses) if clauses else Appointment.id.is_(None)


# --- booking rules ---------------------------------------------------------------------------------------

def _check_references(session: Session, principal: Principal,
                      data: AppointmentCreate) -> tuple[Provider, Facility, Appointment | None]:
    """Every unknown, invisible or unusable reference at once (422), before any lock is taken."""
    problems = []
    if session.scalar(visible_patients(principal).where(Patient.id == data.patient_id)) is None:
        problems.append((("body", "patient_id"), f"unknown patient {data.patient_id}"))
    facility = session.get(Facility, data.facility_id)
    if facility is None or not principal.sees_facility(facility.id):
        facility = None
        problems.append((("body", "facility_id"), f"unknown facility {data.facility_id}"))
    provider = session.get(Provider, data.provider_id)
    if provider is None:
        problems.append((("body", "provider_id"), f"unknown provider {data.provider_id}"))
    else:
        problems += _provider_problems(provider, facility.id if facility else None)
    old = None
    if data.rescheduled_from_id is not None:
        old = session.scalar(visible_appointments(principal).where(Appointment.id == data.rescheduled_from_id))
        if old is None or old.patient_id != data.patient_id:
            problems.append((("body", "rescheduled_from_id"),
                             f"unknown appointment {data.rescheduled_from_id} for this patient"))
    if problems:
        raise Invalid(problems)
    return provider, facility, old


def _provider_problems(provider: Provider, facility_id: uuid.UUID | None) -> list[tuple[tuple, str]]:
    """Inactive, or not working at the facility (not checked when the facility itself is unknown)."""
    problems = []
    if not provider.active:
        problems.append((("body", "provider_id"), f"provider {provider.id} is inactive"))
    if facility_id is not None and facility_id not in provider.facility_ids:
        problems.append((("body", "provider_id"), f"provider {provider.id} does not work at facility {facility_id}"))
    return problems


def _merge(spans: list[tuple[time, time]]) -> list[tuple[time, time]]:
    """Join touching or overlapping template spans, so back-to-back templates cover a visit across them."""
    merged: list[tuple[time, time]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _working_spans(session: Session, provider_id: uuid.UUID, facility_id: uuid.UUID, day: date):
    templates = session.scalars(select(ProviderSchedule).where(
        ProviderSchedule.provider_id == provider_id, ProviderSchedule.facility_id == facility_id,
        ProviderSchedule.weekday == day.weekday(), ProviderSchedule.effective_from <= day,
        or_(ProviderSchedule.effective_to.is_(None), ProviderSchedule.effective_to >= day))).all()
    return _merge([(t.start_time, t.end_time) for t in templates])


def check_schedule(session: Session, provider_id: uuid.UUID, facility: Facility, starts_at: datetime,
                   ends_at: datetime) -> None:
    """409 unless the visit lies inside one working span of that local day (templates are facility-local)."""
    tz = ZoneInfo(facility.timezone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    spans = _working_spans(session, provider_id, facility.id, start.date())
    fits = end.date() == start.date() and any(s <= start.time() and end.time() <= e for s, e in spans)
    if not fits:
        hours = ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in spans) or "no hours"
        raise Conflict(f"outside the provider's schedule: {start:%Y-%m-%d %H:%M}-{end:%H:%M} {facility.timezone} "
                       f"({start:%A}); the provider works {hours} that day at this facility")


def check_time_off(session: Session, provider_id: uuid.UUID, starts_at: datetime, ends_at: datetime) -> None:
    off = session.scalar(select(ProviderTimeOff).where(
        ProviderTimeOff.provider_id == provider_id, ProviderTimeOff.starts_at < ends_at,
        ProviderTimeOff.ends_at > starts_at).limit(1))
    if off is not None:
        raise Conflict(f"the provider is off from {off.starts_at.isoformat()} to {off.ends_at.isoformat()}"
                       + (f" ({off.reason})" if off.reason else ""), time_off_id=str(off.id))


def check_overlap(session: Session, provider_id: uuid.UUID, starts_at: datetime, ends_at: datetime,
                  ignore_id: uuid.UUID | None = None) -> None:
    """409 naming the appointment already holding any part of the slot."""
    query = select(Appointment).where(
        Appointment.provider_id == provider_id, Appointment.status.not_in(FREEING_STATUSES),
        Appointment.starts_at < ends_at, Appointment.ends_at > starts_at)
    if ignore_id is not None:
        query = query.where(Appointment.id != ignore_id)
    clash = session.scalar(query.order_by(Appointment.starts_at).limit(1))
    if clash is not None:
        raise Conflict(f"double booking: the provider already has appointment {clash.id} from "
                       f"{clash.starts_at.isoformat()} to {clash.ends_at.isoformat()}",
                       conflicting_appointment_id=str(clash.id))


def check_slot(session: Session, provider_id: uuid.UUID, facility: Facility, starts_at: datetime, ends_at: datetime,
               ignore_id: uuid.UUID | None = None) -> None:
    """Every 409 rule of a slot. Call under lock_provider_calendar, or two requests can both pass."""
    check_schedule(session, provider_id, facility, starts_at, ends_at)
    check_time_off(session, provider_id, starts_at, ends_at)
    check_overlap(session, provider_id, starts_at, ends_at, ignore_id)


# --- writing ---------------------------------------------------------------------------------------------

def _lock_calendars(session: Session, *provider_ids: uuid.UUID) -> None:
    """Several calendars in one fixed order, so two requests locking the same pair cannot deadlock."""
    for provider_id in sorted(set(provider_ids)):
        lock_provider_calendar(session, provider_id)


def _lock_appointment(session: Session, appointment: Appointment, *also: uuid.UUID) -> None:
    """Lock the calendar the appointment is on (and `also`), then reload it. Until the lock is held it may
    move to another provider, so repeat until its provider's calendar is among the locked ones."""
    locked: set[uuid.UUID] = set()
    while wanted := {appointment.provider_id, *also} - locked:
        _lock_calendars(session, *wanted)
        locked |= wanted
        session.refresh(appointment)


def _record_move(session: Session, principal: Principal, appointment_id: uuid.UUID, source: S | None, target: S,
                 now: datetime) -> None:
    """The status history row; `source` is None for the booking itself."""
    session.add(AppointmentStatusEvent(appointment_id=appointment_id, from_status=source.value if source else None,
                                       to_status=target.value, occurred_at=now, user_id=principal.id))


def _set_status(session: Session, principal: Principal, appointment: Appointment, target: S, now: datetime) -> None:
    _record_move(session, principal, appointment.id, appointment.status, target, now)
    appointment.status = target
    appointment.status_changed_at = now


def _release(session: Session, principal: Principal, old: Appointment, now: datetime) -> None:
    """Cancel the appointment a booking replaces (already locked), unless it no longer holds its slot."""
    if old.status not in FREEING_STATUSES:
        check_appointment_move(old.status, S.cancelled)
        _set_status(session, principal, old, S.cancelled, now)
        session.flush()


def book(session: Session, principal: Principal, data: AppointmentCreate) -> tuple[Appointment, Appointment | None]:
    """Book a visit; with `rescheduled_from_id` the old visit is cancelled in the same transaction.

    Returns the new appointment and the replaced one (or None), so the caller can audit both.
    """
    provider, facility, old = _check_references(session, principal, data)
    now = utcnow()
    if old is None:
        lock_provider_calendar(session, provider.id)
    else:
        _lock_appointment(session, old, provider.id)
        _release(session, principal, old, now)
    check_slot(session, provider.id, facility, data.starts_at, data.ends_at)
    appointment = Appointment(status=S.scheduled, booked_at=now, status_changed_at=now, **data.model_dump())
    session.add(appointment)
    session.flush()
    _record_move(session, principal, appointment.id, None, S.scheduled, now)
    session.flush()
    return appointment, old


def _require_editable(appointment: Appointment) -> None:
    if appointment.status not in EDITABLE_STATUSES:
        raise Conflict(f"a {appointment.status.value} appointment cannot be changed; only scheduled or confirmed "
                       "ones can", current_status=appointment.status.value)


def _merged_times(appointment: Appointment, data: AppointmentUpdate) -> tuple[datetime, datetime]:
    starts_at = data.starts_at or appointment.starts_at
    ends_at = data.ends_at or appointment.ends_at
    if problem := duration_problem(starts_at, ends_at):
        raise Invalid([(("body", "ends_at" if data.ends_at else "starts_at"), problem)])
    return starts_at, ends_at


def _recheck_slot(session: Session, appointment: Appointment, provider_id: uuid.UUID, starts_at: datetime,
                  ends_at: datetime) -> None:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise Invalid([(("body", "provider_id"), f"unknown provider {provider_id}")])
    if problems := _provider_problems(provider, appointment.facility_id):
        raise Invalid(problems)
    check_slot(session, provider_id, session.get(Facility, appointment.facility_id), starts_at, ends_at,
               ignore_id=appointment.id)


def reschedule(session: Session, principal: Principal, appointment_id: uuid.UUID, data: AppointmentUpdate) -> Appointment:
    """Edit in place while scheduled|confirmed; a new time or provider is checked like a new booking.

    A reminder sent for the old time does not cover the new one, so a time change clears
    `reminder_sent_at` unless the same request sets it.
    """
    appointment = get_appointment(session, principal, appointment_id)
    _lock_appointment(session, appointment, *([data.provider_id] if data.provider_id else []))
    _require_editable(appointment)
    provider_id = data.provider_id or appointment.provider_id
    starts_at, ends_at = _merged_times(appointment, data)
    changes = data.model_dump(exclude_unset=True)
    if (starts_at, ends_at, provider_id) != (appointment.starts_at, appointment.ends_at, appointment.provider_id):
        _recheck_slot(session, appointment, provider_id, starts_at, ends_at)
        if starts_at != appointment.starts_at and "reminder_sent_at" not in changes:
            changes["reminder_sent_at"] = None
    for key, value in changes.items():
        setattr(appointment, key, value)
    session.flush()
    return appointment


def move_status(session: Session, principal: Principal, appointment_id: uuid.UUID, target: S) -> Appointment:
    """One step of the status machine (status_machines.py), under the provider's lock so racing moves
    of the same appointment see each other's result."""
    appointment = get_appointment(session, principal, appointment_id)
    _lock_appointment(session, appointment)
    check_appointment_move(appointment.status, target)
    _set_status(session, principal, appointment, target, utcnow())
    session.flush()
    return appointment
