"""Encounters and their charges (PHI: every access is audited)."""

import uuid
from datetime import date

from fastapi import APIRouter, status

from ops_api.api.deps import SessionDep, allow
from ops_api.api.pagination import PageDep, paginate
from ops_api.models import Encounter
from ops_api.schemas.common import Page
from ops_api.schemas.encounters import EncounterCreate, EncounterPublic
from ops_api.services import encounters as svc

router = APIRouter(prefix="/encounters", tags=["encounters"])


@router.post("", response_model=EncounterPublic, status_code=status.HTTP_201_CREATED,
             responses={403: {"description": "a physician charging another provider's visit"},
                        409: {"description": "the appointment already has an encounter"},
                        422: {"description": "every problem found: codes, pointers, fees, references, dates"}})
def create_encounter(session: SessionDep, principal: allow("encounters:write"), data: EncounterCreate):
    encounter = svc.create_encounter(session, principal, data)
    principal.audit(session, "create", "encounters", encounter.id, encounter.patient_id, 201)
    session.commit()
    return encounter


@router.get("", response_model=Page[EncounterPublic])
def list_encounters(session: SessionDep, principal: allow("encounters:read"), page: PageDep,
                    patient_id: uuid.UUID | None = None, provider_id: uuid.UUID | None = None,
                    facility_id: uuid.UUID | None = None, date_from: date | None = None, date_to: date | None = None):
    """Filters on the date of service (inclusive); physicians see their own encounters only."""
    query = svc.visible_encounters(principal).order_by(Encounter.date_of_service.desc(), Encounter.id)
    for column, value in ((Encounter.patient_id, patient_id), (Encounter.provider_id, provider_id),
                          (Encounter.facility_id, facility_id)):
        if value is not None:
            query = query.where(column == value)
    if date_from is not None:
        query = query.where(Encounter.date_of_service >= date_from)
    if date_to is not None:
        query = query.where(Encounter.date_of_service <= date_to)
    result = paginate(session, query, page)
    for encounter in result["items"]:
        principal.audit(session, "read", "encounters", encounter.id, encounter.patient_id)
    session.commit()
    return result


@router.get("/{encounter_id}", response_model=EncounterPublic)
def get_encounter(session: SessionDep, principal: allow("encounters:read"), encounter_id: uuid.UUID):
    encounter = svc.get_encounter(session, principal, encounter_id)
    principal.audit(session, "read", "encounters", encounter.id, encounter.patient_id)
    session.commit()
    return encounter
