"""Facilities, providers (and their schedules), payers, fee schedule."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import exists, func, select

from ops_api.api.deps import SessionDep, allow
from ops_api.api.pagination import PageDep, paginate
from ops_api.errors import NotFound
from ops_api.models import Facility, FeeSchedule, Payer, Provider, ProviderFacility
from ops_api.schemas.common import Page
from ops_api.schemas.org import (FacilityCreate, FacilityPublic, FacilityUpdate, FeeScheduleIn, FeeSchedulePublic,
                                 PayerCreate, PayerPublic, ProviderCreate, ProviderPublic, ProviderUpdate,
                                 ScheduleIn, SchedulePublic)
from ops_api.services import org as svc
from pms.enums import PayerKind

router = APIRouter()
Q = Annotated[str | None, Query(max_length=100)]


@router.get("/facilities", response_model=Page[FacilityPublic], tags=["facilities"])
def list_facilities(session: SessionDep, principal: allow("facilities:read"), page: PageDep):
    return paginate(session, principal.scope(select(Facility), Facility.id).order_by(Facility.name, Facility.id), page)


@router.post("/facilities", response_model=FacilityPublic, status_code=status.HTTP_201_CREATED, tags=["facilities"])
def create_facility(session: SessionDep, _: allow("facilities:write"), data: FacilityCreate):
    facility = svc.create_facility(session, data)
    session.commit()
    return facility


@router.get("/facilities/{facility_id}", response_model=FacilityPublic, tags=["facilities"])
def get_facility(session: SessionDep, principal: allow("facilities:read"), facility_id: uuid.UUID):
    return svc.get_facility(session, principal, facility_id)


@router.patch("/facilities/{facility_id}", response_model=FacilityPublic, tags=["facilities"])
def update_facility(session: SessionDep, principal: allow("facilities:write"), facility_id: uuid.UUID,
                    data: FacilityUpdate):
    facility = svc.update_facility(session, principal, facility_id, data)
    session.commit()
    return facility


@router.get("/providers", response_model=Page[ProviderPublic], tags=["providers"])
def list_providers(session: SessionDep, principal: allow("providers:read"), page: PageDep,
                   facility_id: uuid.UUID | None = None, active: bool | None = None, q: Q = None):
    query = select(Provider).order_by(Provider.last_name, Provider.first_name, Provider.id)
    if principal.facility_scope is not None:
        query = query.where(exists().where(ProviderFacility.provider_id == Provider.id,
                                           ProviderFacility.facility_id.in_(principal.facility_scope)))
    if facility_id is not None:
        query = query.where(exists().where(ProviderFacility.provider_id == Provider.id,
                                           ProviderFacility.facility_id == facility_id))
    if active is not None:
        query = query.where(Provider.active == active)
    if q:
        term = q.strip().lower()
        query = query.where(func.lower(Provider.last_name).startswith(term, autoescape=True)
                            | func.lower(Provider.first_name).startswith(term, autoescape=True)
                            | (Provider.npi == q.strip()))
    return paginate(session, query, page)


@router.post("/providers", response_model=ProviderPublic, status_code=status.HTTP_201_CREATED, tags=["providers"])
def create_provider(session: SessionDep, _: allow("providers:write"), data: ProviderCreate):
    provider = svc.create_provider(session, data)
    session.commit()
    return provider


@router.get("/providers/{provider_id}", response_model=ProviderPublic, tags=["providers"])
def get_provider(session: SessionDep, principal: allow("providers:read"), provider_id: uuid.UUID):
    return svc.get_provider(session, principal, provider_id)


@router.patch("/providers/{provider_id}", response_model=ProviderPublic, tags=["providers"])
def update_provider(session: SessionDep, principal: allow("providers:write"), provider_id: uuid.UUID,
                    data: ProviderUpdate):
    provider = svc.update_provider(session, principal, provider_id, data)
    session.commit()
    return provider


@router.get("/providers/{provider_id}/schedule", response_model=SchedulePublic, tags=["providers"])
def get_schedule(session: SessionDep, principal: allow("schedules:read"), provider_id: uuid.UUID):
    provider = svc.get_provider(session, principal, provider_id)
    return svc.get_schedule(session, provider.id)


@router.put("/providers/{provider_id}/schedule", response_model=SchedulePublic, tags=["providers"])
def put_schedule(session: SessionDep, principal: allow("schedules:write"), provider_id: uuid.UUID, data: ScheduleIn):
    provider = svc.get_provider(session, principal, provider_id)
    schedule = svc.replace_schedule(session, provider, data)
    session.commit()
    return schedule


@router.get("/payers", response_model=Page[PayerPublic], tags=["payers"])
def list_payers(session: SessionDep, _: allow("payers:read"), page: PageDep, kind: PayerKind | None = None, q: Q = None):
    query = select(Payer).order_by(Payer.name, Payer.id)
    if kind is not None:
        query = query.where(Payer.kind == kind)
    if q:
        query = query.where(func.lower(Payer.name).contains(q.strip().lower(), autoescape=True))
    return paginate(session, query, page)


@router.post("/payers", response_model=PayerPublic, status_code=status.HTTP_201_CREATED, tags=["payers"])
def create_payer(session: SessionDep, _: allow("payers:write"), data: PayerCreate):
    payer = svc.create_payer(session, data)
    session.commit()
    return payer


@router.get("/payers/{payer_id}", response_model=PayerPublic, tags=["payers"])
def get_payer(session: SessionDep, _: allow("payers:read"), payer_id: uuid.UUID):
    payer = session.get(Payer, payer_id)
    if payer is None:
        raise NotFound(f"payer {payer_id} not found")
    return payer


@router.get("/fee-schedule", response_model=Page[FeeSchedulePublic], tags=["fee schedule"])
def list_fees(session: SessionDep, _: allow("fee_schedule:read"), page: PageDep,
              procedure_code: Annotated[str | None, Query(max_length=5)] = None):
    query = select(FeeSchedule).order_by(FeeSchedule.procedure_code, FeeSchedule.effective_from)
    if procedure_code:
        query = query.where(FeeSchedule.procedure_code == procedure_code)
    return paginate(session, query, page)


@router.put("/fee-schedule", response_model=FeeSchedulePublic, tags=["fee schedule"])
def put_fee(session: SessionDep, _: allow("fee_schedule:write"), data: FeeScheduleIn):
    """Create or replace the fee for a code from a date (earlier fees stay for earlier services)."""
    fee = svc.upsert_fee(session, data)
    session.commit()
    return fee
