"""Facilities, providers, schedules, payers, fee schedule."""

import uuid
import zoneinfo
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, ValidationInfo, field_validator

from ops_api.codes import npi_problem, procedure_problem
from ops_api.schemas.common import Address, Money, Name, PositiveMoney, ReadModel, StrictInput
from pms.enums import PayerKind

PosCode = Annotated[str, StringConstraints(pattern=r"^\d{2}$")]


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _not_null(v, info: ValidationInfo):
    """For PATCH bodies: runs only on fields sent; omitting keeps the value, null is an error (not a 500)."""
    if v is None:
        raise ValueError(f"{info.field_name} cannot be null")
    return v


class FacilityCreate(StrictInput):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    timezone: str = "America/New_York"
    address: Address | None = None
    pos_code: PosCode = "11"  # CMS place of service: 11 = office

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        # Membership, not ZoneInfo(v): that raises OSError (a 500) for names like "America" (a directory).
        if v not in _zones():
            raise ValueError(f"{v[:64]!r} is not an IANA timezone")
        return v


class FacilityUpdate(StrictInput):
    """The timezone is fixed: changing it would silently move every schedule template."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    address: Address | None = None
    pos_code: PosCode | None = None

    _required = field_validator("name", "pos_code")(_not_null)


class FacilityPublic(ReadModel):
    id: uuid.UUID
    name: str
    timezone: str
    address: dict | None
    pos_code: str


class ProviderCreate(StrictInput):
    npi: str
    first_name: Name
    last_name: Name
    specialty: Name
    facility_ids: list[uuid.UUID] = Field(min_length=1)
    active: bool = True

    @field_validator("npi")
    @classmethod
    def _npi(cls, v: str) -> str:
        if problem := npi_problem(v):
            raise ValueError(problem)
        return v


class ProviderUpdate(StrictInput):
    first_name: Name | None = None
    last_name: Name | None = None
    specialty: Name | None = None
    facility_ids: list[uuid.UUID] | None = Field(default=None, min_length=1)
    active: bool | None = None

    _required = field_validator("first_name", "last_name", "specialty", "facility_ids", "active")(_not_null)


class ProviderPublic(ReadModel):
    id: uuid.UUID
    npi: str
    first_name: str
    last_name: str
    specialty: str
    facility_ids: list[uuid.UUID]
    active: bool


class ScheduleTemplate(StrictInput):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start_time: time
    end_time: time
    facility_id: uuid.UUID
    effective_from: date
    effective_to: date | None = None

    @field_validator("start_time", "end_time")
    @classmethod
    def _local(cls, v: time) -> time:
        if v.tzinfo is not None:
            raise ValueError("a facility-local wall time, without an offset")
        return v

    # Field validators (not one model validator) so each 422 names its field; a field declared earlier that
    # failed is absent from info.data, and then there is nothing to compare.
    @field_validator("end_time")
    @classmethod
    def _end_after_start(cls, v: time, info: ValidationInfo) -> time:
        if (start := info.data.get("start_time")) is not None and v <= start:
            raise ValueError("end_time must be after start_time")
        return v

    @field_validator("effective_to")
    @classmethod
    def _to_after_from(cls, v: date | None, info: ValidationInfo) -> date | None:
        if v is not None and (start := info.data.get("effective_from")) is not None and v < start:
            raise ValueError("effective_to must not be before effective_from")
        return v


class TimeOff(StrictInput):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None

    @field_validator("ends_at")
    @classmethod
    def _end_after_start(cls, v: datetime, info: ValidationInfo) -> datetime:
        if (start := info.data.get("starts_at")) is not None and v <= start:
            raise ValueError("ends_at must be after starts_at")
        return v


class ScheduleIn(StrictInput):
    """Replaces the provider's whole schedule: templates and time off."""

    templates: list[ScheduleTemplate] = Field(max_length=200)
    time_off: list[TimeOff] = Field(default_factory=list, max_length=1000)


class ScheduleTemplatePublic(ReadModel):
    id: uuid.UUID
    weekday: int
    start_time: time
    end_time: time
    facility_id: uuid.UUID
    effective_from: date
    effective_to: date | None


class TimeOffPublic(ReadModel):
    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    reason: str | None


class SchedulePublic(ReadModel):
    provider_id: uuid.UUID
    templates: list[ScheduleTemplatePublic]
    time_off: list[TimeOffPublic]


class PayerCreate(StrictInput):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    edi_payer_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{2,20}$")] | None = None
    kind: PayerKind


class PayerPublic(ReadModel):
    id: uuid.UUID
    name: str
    edi_payer_id: str | None
    kind: PayerKind


class FeeScheduleIn(StrictInput):
    procedure_code: str
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    charge_amount: PositiveMoney
    work_rvu: Decimal = Field(ge=0, max_digits=7, decimal_places=2)
    effective_from: date

    @field_validator("procedure_code")
    @classmethod
    def _code(cls, v: str) -> str:
        if problem := procedure_problem(v):
            raise ValueError(problem)
        return v


class FeeSchedulePublic(ReadModel):
    id: uuid.UUID
    procedure_code: str
    description: str
    charge_amount: Money
    work_rvu: Decimal
    effective_from: date
