"""Encounters: what was done at a visit (diagnoses) and what it costs (charge lines).

Every problem of a request is collected and reported in one 422, so a biller fixes a charge in
one round trip. The code checks here are reused by the claim scrubber (services/claims.py).
"""

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ops_api import codes
from ops_api.clock import local_today
from ops_api.errors import Conflict, Forbidden, Invalid, NotFound
from ops_api.models import Appointment, Encounter, EncounterDiagnosis, EncounterLine, Facility, Patient, Provider
from ops_api.models.types import to_money
from ops_api.principal import Principal
from ops_api.schemas.encounters import MAX_LINE_CHARGE, EncounterCreate, EncounterLineIn
from ops_api.services.org import fee_for
from pms.enums import AppointmentStatus

Problems = list[tuple[tuple, str]]
BILLABLE_APPOINTMENT = (AppointmentStatus.checked_in, AppointmentStatus.completed)


def visible_encounters(principal: Principal) -> Select:
    """Encounters of the caller's facilities; a physician's own only."""
    query = principal.scope(select(Encounter), Encounter.facility_id)
    if (provider_id := principal.own_provider_id) is not None:
        query = query.where(Encounter.provider_id == provider_id)
    return query


def get_encounter(session: Session, principal: Principal, encounter_id: uuid.UUID) -> Encounter:
    encounter = session.scalar(visible_encounters(principal).where(Encounter.id == encounter_id))
    if encounter is None:
        raise NotFound(f"encounter {encounter_id} not found")
    return encounter


# -- code checks (shared with the claim scrubber) --------------------------------------------------

def diagnosis_problems(diagnosis_codes: Sequence[str], loc: tuple) -> Problems:
    problems = [((*loc, i), msg) for i, code in enumerate(diagnosis_codes) if (msg := codes.icd10_problem(code))]
    if not 1 <= len(diagnosis_codes) <= 12:
        problems.append((loc, "a claim carries 1 to 12 diagnosis codes"))
    normalized = [codes.normalize_icd10(c) for c in diagnosis_codes if not codes.icd10_problem(c)]
    repeated = sorted({c for c in normalized if normalized.count(c) > 1})
    return problems + [(loc, f"diagnosis {c} is listed twice") for c in repeated]


def line_code_problems(procedure_code: str, modifiers: Sequence[str], pointers: Sequence[int], diagnosis_count: int,
                       loc: tuple) -> Problems:
    """Procedure and modifier formats, and pointers that name existing diagnoses, each once."""
    problems = []
    if msg := codes.procedure_problem(procedure_code):
        problems.append(((*loc, "procedure_code"), msg))
    problems += [((*loc, "modifiers", i), msg) for i, m in enumerate(modifiers) if (msg := codes.modifier_problem(m))]
    if len(modifiers) > 4:
        problems.append(((*loc, "modifiers"), "at most 4 modifiers per line"))
    if not 1 <= len(pointers) <= 4:
        problems.append(((*loc, "diagnosis_pointers"), "each line points at 1 to 4 diagnoses"))
    problems += [((*loc, "diagnosis_pointers", i), f"pointer {p} is outside 1..{diagnosis_count}")
                 for i, p in enumerate(pointers) if not 1 <= p <= diagnosis_count]
    if len(set(pointers)) != len(pointers):
        problems.append(((*loc, "diagnosis_pointers"), "a diagnosis pointer is repeated"))
    return problems


# -- creation --------------------------------------------------------------------------------------

def _visible(principal: Principal, row, facility_id) -> bool:
    return row is not None and principal.sees_facility(facility_id)


def _reference_problems(session: Session, principal: Principal, data: EncounterCreate) -> Problems:
    facility = session.get(Facility, data.facility_id)
    patient = session.get(Patient, data.patient_id)
    provider = session.get(Provider, data.provider_id)
    problems = []
    if not _visible(principal, facility, data.facility_id):
        problems.append((("body", "facility_id"), f"unknown facility {data.facility_id}"))
    if not _visible(principal, patient, patient and patient.facility_id):
        problems.append((("body", "patient_id"), f"unknown patient {data.patient_id}"))
    if provider is None:
        problems.append((("body", "provider_id"), f"unknown provider {data.provider_id}"))
    else:
        if data.facility_id not in provider.facility_ids:
            problems.append((("body", "provider_id"), "the provider does not work at this facility"))
        if not provider.active:
            problems.append((("body", "provider_id"), "the provider is inactive and cannot bill"))
    if facility is not None and data.date_of_service > (today := local_today(facility.timezone)):
        problems.append((("body", "date_of_service"),
                         f"date of service {data.date_of_service} is in the future (today is {today} at the facility)"))
    return problems


def _appointment_problems(session: Session, principal: Principal, data: EncounterCreate) -> Problems:
    if data.appointment_id is None:
        return []
    loc = ("body", "appointment_id")
    appointment = session.get(Appointment, data.appointment_id)
    if not _visible(principal, appointment, appointment and appointment.facility_id):
        return [(loc, f"unknown appointment {data.appointment_id}")]
    problems = []
    for field in ("patient_id", "provider_id", "facility_id"):
        if getattr(appointment, field) != getattr(data, field):
            problems.append((loc, f"the appointment's {field} is not the encounter's"))
    if appointment.status not in BILLABLE_APPOINTMENT:
        problems.append((loc, f"the appointment is {appointment.status.value}; only a checked_in or completed "
                              "visit can be charged"))
    facility = session.get(Facility, appointment.facility_id)
    if appointment.starts_at.astimezone(ZoneInfo(facility.timezone)).date() != data.date_of_service:
        problems.append((("body", "date_of_service"), "the date of service is not the appointment's date"))
    return problems


def _line_charge(session: Session, line: EncounterLineIn, date_of_service: date) -> Decimal | None:
    """The given line total, or the fee in force on the date of service × units (None: no fee)."""
    if line.charge_amount is not None:
        return line.charge_amount
    fee = fee_for(session, line.procedure_code, date_of_service)
    return None if fee is None else to_money(fee.charge_amount * line.units)


def _lines_problems(session: Session, data: EncounterCreate, charges: list[Decimal | None]) -> Problems:
    problems = []
    for i, (line, charge) in enumerate(zip(data.lines, charges, strict=True)):
        loc = ("body", "lines", i)
        problems += line_code_problems(line.procedure_code, line.modifiers, line.diagnosis_pointers,
                                       len(data.diagnosis_codes), loc)
        if charge is None and not codes.procedure_problem(line.procedure_code):
            problems.append(((*loc, "charge_amount"), f"no fee for {line.procedure_code} in force on "
                                                      f"{data.date_of_service}: give charge_amount"))
        elif charge is not None and charge > MAX_LINE_CHARGE:
            problems.append(((*loc, "charge_amount"), f"fee × units = {charge} is above {MAX_LINE_CHARGE}"))
    return problems


def create_encounter(session: Session, principal: Principal, data: EncounterCreate) -> Encounter:
    if principal.own_provider_id not in (None, data.provider_id):
        raise Forbidden("physicians record encounters only for their own visits")
    charges = [_line_charge(session, line, data.date_of_service) for line in data.lines]
    problems = (_reference_problems(session, principal, data) + _appointment_problems(session, principal, data)
                + diagnosis_problems(data.diagnosis_codes, ("body", "diagnosis_codes"))
                + _lines_problems(session, data, charges))
    if problems:
        raise Invalid(problems)
    charged = Conflict(f"appointment {data.appointment_id} already has an encounter")
    if data.appointment_id and session.scalar(select(Encounter.id)
                                              .where(Encounter.appointment_id == data.appointment_id)):
        raise charged
    encounter = _build(data, charges)
    session.add(encounter)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        if data.appointment_id is None:
            raise
        raise charged from None  # a concurrent request charged the same appointment first (unique key)
    return encounter


def _build(data: EncounterCreate, charges: list[Decimal]) -> Encounter:
    encounter = Encounter(appointment_id=data.appointment_id, patient_id=data.patient_id,
                          provider_id=data.provider_id, facility_id=data.facility_id,
                          date_of_service=data.date_of_service)
    encounter.diagnoses = [EncounterDiagnosis(rank=i, code=codes.normalize_icd10(code))
                           for i, code in enumerate(data.diagnosis_codes, start=1)]
    encounter.lines = [EncounterLine(line_number=i, procedure_code=line.procedure_code, modifiers=line.modifiers,
                                     units=line.units, charge_amount=charge, diagnosis_pointers=line.diagnosis_pointers)
                       for i, (line, charge) in enumerate(zip(data.lines, charges, strict=True), start=1)]
    return encounter
