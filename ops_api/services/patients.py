"""Patients (MRN assignment, duplicate detection, search) and their coverages."""

import re
import uuid

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ops_api.errors import Conflict, Invalid, NotFound
from ops_api.models import Appointment, Counter, Coverage, Encounter, Facility, Patient, Payer
from ops_api.principal import Principal
from ops_api.schemas.patients import CoverageCreate, CoverageUpdate, PatientCreate, PatientUpdate


def next_value(session: Session, name: str) -> int:
    """Atomically take the next number of a named counter (row-locked on PostgreSQL)."""
    if session.get(Counter, name) is None:
        session.add(Counter(name=name, value=0))
        session.flush()
    return session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1)
                           .returning(Counter.value)).scalar_one()


def visible_patients(principal: Principal):
    """The patients query limited to the caller's facilities, and for physicians to patients they see."""
    query = principal.scope(select(Patient), Patient.facility_id)
    if (provider_id := principal.own_provider_id) is not None:
        query = query.where(or_(
            exists().where(Appointment.patient_id == Patient.id, Appointment.provider_id == provider_id),
            exists().where(Encounter.patient_id == Patient.id, Encounter.provider_id == provider_id),
        ))
    return query


def get_patient(session: Session, principal: Principal, patient_id: uuid.UUID) -> Patient:
    patient = session.scalar(visible_patients(principal).where(Patient.id == patient_id))
    if patient is None:
        raise NotFound(f"patient {patient_id} not found")
    return patient


def find_duplicate(session: Session, first_name: str, last_name: str, date_of_birth) -> Patient | None:
    return session.scalar(select(Patient).where(
        func.lower(Patient.first_name) == first_name.lower(),
        func.lower(Patient.last_name) == last_name.lower(),
        Patient.date_of_birth == date_of_birth,
    ).limit(1))


def create_patient(session: Session, principal: Principal, data: PatientCreate, allow_duplicate: bool = False) -> Patient:
    if not principal.sees_facility(data.facility_id) or session.get(Facility, data.facility_id) is None:
        raise Invalid([(("body", "facility_id"), f"unknown facility {data.facility_id}")])
    if not allow_duplicate and (dup := find_duplicate(session, data.first_name, data.last_name, data.date_of_birth)):
        raise Conflict("a patient with the same name and date of birth exists; pass allow_duplicate=true to "
                       "register another", existing_id=str(dup.id))
    patient = Patient(mrn=f"MRN{next_value(session, 'mrn'):08d}", **data.model_dump(mode="json", exclude={"date_of_birth", "facility_id"}),
                      date_of_birth=data.date_of_birth, facility_id=data.facility_id)
    session.add(patient)
    session.flush()
    return patient


def update_patient(session: Session, principal: Principal, patient_id: uuid.UUID, data: PatientUpdate) -> Patient:
    patient = get_patient(session, principal, patient_id)
    changes = data.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None and key in {"first_name", "last_name", "date_of_birth", "sex", "preferred_contact"}:
            raise Invalid([(("body", key), f"{key} cannot be null")])
        setattr(patient, key, value)
    session.flush()
    return patient


def search_filter(q: str):
    """`?q=`: name (any part, case-insensitive prefix), MRN, or phone digits."""
    q = q.strip()
    terms = [t for t in re.split(r"[\s,]+", q) if t]
    digits = re.sub(r"\D", "", q)
    name_match = [or_(func.lower(Patient.first_name).startswith(t.lower(), autoescape=True),
                      func.lower(Patient.last_name).startswith(t.lower(), autoescape=True)) for t in terms]
    clauses = [Patient.mrn == q.upper()]
    if name_match:
        clauses.append(and_(*name_match))
    if len(digits) >= 4:
        clauses.append(func.replace(func.replace(func.replace(func.replace(Patient.phone, "-", ""), " ", ""),
                                                 "(", ""), ")", "").contains(digits, autoescape=True))
    return or_(*clauses)


def create_coverage(session: Session, principal: Principal, patient_id: uuid.UUID, data: CoverageCreate) -> Coverage:
    patient = get_patient(session, principal, patient_id)
    if session.get(Payer, data.payer_id) is None:
        raise Invalid([(("body", "payer_id"), f"unknown payer {data.payer_id}")])
    coverage = Coverage(patient_id=patient.id, **data.model_dump())
    session.add(coverage)
    session.flush()
    return coverage


def get_coverage(session: Session, principal: Principal, patient_id: uuid.UUID, coverage_id: uuid.UUID) -> Coverage:
    get_patient(session, principal, patient_id)
    coverage = session.get(Coverage, coverage_id)
    if coverage is None or coverage.patient_id != patient_id:
        raise NotFound(f"coverage {coverage_id} not found")
    return coverage


def update_coverage(session: Session, principal: Principal, patient_id: uuid.UUID, coverage_id: uuid.UUID,
                    data: CoverageUpdate) -> Coverage:
    coverage = get_coverage(session, principal, patient_id, coverage_id)
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is None and key in {"member_id", "rank"}:
            raise Invalid([(("body", key), f"{key} cannot be null")])
        setattr(coverage, key, value)
    if coverage.effective_to is not None and coverage.effective_to < coverage.effective_from:
        raise Invalid([(("body", "effective_to"), "effective_to must not be before effective_from")])
    session.flush()
    return coverage
