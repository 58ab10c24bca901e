"""Facilities, providers, schedules, payers and the fee schedule."""

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_api.errors import Conflict, Invalid, NotFound
from ops_api.models import (Facility, FeeSchedule, Payer, Provider, ProviderFacility, ProviderSchedule,
                            ProviderTimeOff)
from ops_api.principal import Principal
from ops_api.schemas.org import (FacilityCreate, FacilityUpdate, FeeScheduleIn, PayerCreate, ProviderCreate,
                                 ProviderUpdate, ScheduleIn)


def create_facility(session: Session, data: FacilityCreate) -> Facility:
    facility = Facility(**data.model_dump(mode="json"))
    session.add(facility)
    session.flush()
    return facility


def update_facility(session: Session, principal: Principal, facility_id: uuid.UUID, data: FacilityUpdate) -> Facility:
    facility = get_facility(session, principal, facility_id)
    for key, value in data.model_dump(mode="json", exclude_unset=True).items():
        setattr(facility, key, value)
    session.flush()
    return facility


def get_facility(session: Session, principal: Principal, facility_id: uuid.UUID) -> Facility:
    facility = session.get(Facility, facility_id)
    if facility is None or not principal.sees_facility(facility.id):
        raise NotFound(f"facility {facility_id} not found")
    return facility


def _check_facilities(session: Session, facility_ids: list[uuid.UUID]) -> None:
    found = set(session.scalars(select(Facility.id).where(Facility.id.in_(facility_ids))))
    missing = [f for f in facility_ids if f not in found]
    if missing:
        raise Invalid([(("body", "facility_ids"), f"unknown facility {m}") for m in missing])


def create_provider(session: Session, data: ProviderCreate) -> Provider:
    if session.scalar(select(Provider.id).where(Provider.npi == data.npi)):
        raise Conflict(f"a provider with NPI {data.npi} already exists")
    _check_facilities(session, data.facility_ids)
    provider = Provider(**data.model_dump(exclude={"facility_ids"}))
    provider.facility_links = [ProviderFacility(facility_id=f) for f in dict.fromkeys(data.facility_ids)]
    session.add(provider)
    session.flush()
    return provider


def get_provider(session: Session, principal: Principal, provider_id: uuid.UUID) -> Provider:
    provider = session.get(Provider, provider_id)
    if provider is None or (principal.facility_scope is not None
                            and not any(principal.sees_facility(f) for f in provider.facility_ids)):
        raise NotFound(f"provider {provider_id} not found")
    return provider


def update_provider(session: Session, principal: Principal, provider_id: uuid.UUID, data: ProviderUpdate) -> Provider:
    provider = get_provider(session, principal, provider_id)
    changes = data.model_dump(exclude_unset=True, exclude={"facility_ids"})
    for key, value in changes.items():
        setattr(provider, key, value)
    if data.facility_ids is not None:
        _check_facilities(session, data.facility_ids)
        keep = {link.facility_id: link for link in provider.facility_links}
        provider.facility_links = [keep.get(f) or ProviderFacility(facility_id=f)
                                   for f in dict.fromkeys(data.facility_ids)]
    session.flush()
    session.expire(provider, ["facility_links"])  # answer in the stored order, as every later read does
    return provider


def get_schedule(session: Session, provider_id: uuid.UUID) -> dict:
    templates = session.scalars(select(ProviderSchedule).where(ProviderSchedule.provider_id == provider_id)
                                .order_by(ProviderSchedule.weekday, ProviderSchedule.start_time)).all()
    time_off = session.scalars(select(ProviderTimeOff).where(ProviderTimeOff.provider_id == provider_id)
                               .order_by(ProviderTimeOff.starts_at)).all()
    return {"provider_id": provider_id, "templates": templates, "time_off": time_off}


def replace_schedule(session: Session, provider: Provider, data: ScheduleIn) -> dict:
    problems = [(("body", "templates", i, "facility_id"), "the provider does not work at this facility")
                for i, t in enumerate(data.templates) if t.facility_id not in provider.facility_ids]
    if problems:
        raise Invalid(problems)
    # Delete through the ORM so each removal reaches the outbox.
    for old in session.scalars(select(ProviderSchedule).where(ProviderSchedule.provider_id == provider.id)):
        session.delete(old)
    for old in session.scalars(select(ProviderTimeOff).where(ProviderTimeOff.provider_id == provider.id)):
        session.delete(old)
    session.flush()
    session.add_all(ProviderSchedule(provider_id=provider.id, **t.model_dump()) for t in data.templates)
    session.add_all(ProviderTimeOff(provider_id=provider.id, **t.model_dump()) for t in data.time_off)
    session.flush()
    return get_schedule(session, provider.id)


def create_payer(session: Session, data: PayerCreate) -> Payer:
    payer = Payer(**data.model_dump())
    session.add(payer)
    session.flush()
    return payer


def upsert_fee(session: Session, data: FeeScheduleIn) -> FeeSchedule:
    fee = session.scalar(select(FeeSchedule).where(FeeSchedule.procedure_code == data.procedure_code,
                                                   FeeSchedule.effective_from == data.effective_from))
    if fee is None:
        fee = FeeSchedule(**data.model_dump())
        session.add(fee)
    else:
        for key, value in data.model_dump().items():
            setattr(fee, key, value)
    session.flush()
    return fee


def fee_for(session: Session, procedure_code: str, on: date) -> FeeSchedule | None:
    """The fee in force for a code on a date of service."""
    return session.scalar(select(FeeSchedule).where(FeeSchedule.procedure_code == procedure_code,
                                                    FeeSchedule.effective_from <= on)
                          .order_by(FeeSchedule.effective_from.desc()).limit(1))


