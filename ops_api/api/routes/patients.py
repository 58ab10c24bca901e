"""Patients and their coverages (PHI: every access is audited)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from ops_api.api.deps import SessionDep, allow
from ops_api.api.pagination import PageDep, paginate
from ops_api.models import Coverage, Patient
from ops_api.schemas.common import Page
from ops_api.schemas.patients import (CoverageCreate, CoveragePublic, CoverageUpdate, PatientCreate, PatientPublic,
                                      PatientUpdate)
from ops_api.services import patients as svc

router = APIRouter(prefix="/patients", tags=["patients"])


@router.get("", response_model=Page[PatientPublic])
def list_patients(session: SessionDep, principal: allow("patients:read"), page: PageDep,
                  q: Annotated[str | None, Query(max_length=100)] = None, facility_id: uuid.UUID | None = None):
    query = svc.visible_patients(principal).order_by(Patient.last_name, Patient.first_name, Patient.id)
    if q and q.strip():
        query = query.where(svc.search_filter(q))
    if facility_id is not None:
        query = query.where(Patient.facility_id == facility_id)
    result = paginate(session, query, page)
    for patient in result["items"]:
        principal.audit(session, "read", "patients", patient.id, patient.id)
    session.commit()
    return result


@router.post("", response_model=PatientPublic, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "a patient with the same name and date of birth exists"}})
def create_patient(session: SessionDep, principal: allow("patients:write"), data: PatientCreate,
                   allow_duplicate: bool = False):
    patient = svc.create_patient(session, principal, data, allow_duplicate)
    principal.audit(session, "create", "patients", patient.id, patient.id, 201)
    session.commit()
    return patient


@router.get("/{patient_id}", response_model=PatientPublic)
def get_patient(session: SessionDep, principal: allow("patients:read"), patient_id: uuid.UUID):
    patient = svc.get_patient(session, principal, patient_id)
    principal.audit(session, "read", "patients", patient.id, patient.id)
    session.commit()
    return patient


@router.patch("/{patient_id}", response_model=PatientPublic)
def update_patient(session: SessionDep, principal: allow("patients:write"), patient_id: uuid.UUID,
                   data: PatientUpdate):
    patient = svc.update_patient(session, principal, patient_id, data)
    principal.audit(session, "update", "patients", patient.id, patient.id)
    session.commit()
    return patient


@router.get("/{patient_id}/coverages", response_model=list[CoveragePublic])
def list_coverages(session: SessionDep, principal: allow("coverages:read"), patient_id: uuid.UUID):
    patient = svc.get_patient(session, principal, patient_id)
    coverages = session.scalars(select(Coverage).where(Coverage.patient_id == patient.id)
                                .order_by(Coverage.rank, Coverage.effective_from)).all()
    principal.audit(session, "read", "coverages", None, patient.id)
    session.commit()
    return coverages


@router.post("/{patient_id}/coverages", response_model=CoveragePublic, status_code=status.HTTP_201_CREATED)
def create_coverage(session: SessionDep, principal: allow("coverages:write"), patient_id: uuid.UUID,
                    data: CoverageCreate):
    coverage = svc.create_coverage(session, principal, patient_id, data)
    principal.audit(session, "create", "coverages", coverage.id, patient_id, 201)
    session.commit()
    return coverage


@router.patch("/{patient_id}/coverages/{coverage_id}", response_model=CoveragePublic)
def update_coverage(session: SessionDep, principal: allow("coverages:write"), patient_id: uuid.UUID,
                    coverage_id: uuid.UUID, data: CoverageUpdate):
    coverage = svc.update_coverage(session, principal, patient_id, coverage_id, data)
    principal.audit(session, "update", "coverages", coverage.id, patient_id)
    session.commit()
    return coverage
