"""Facilities, providers, schedules, payers, fee schedule."""

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from ops_api.codes import npi_problem, procedure_problem, timezone_problem
from ops_api.schemas.common import Address, Money, Name, PositiveMoney, ReadModel, StrictInput
from pms.enums import PayerKind

PosCode = Annotated[str, StringConstraints(pattern=r"^\d{2}$")]


class FacilityCreate(StrictInput):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    timezone: str = "America/New_York"
    address: Address | None = None
    pos_code: PosCode = "11"  # CMS place of service: 11 = office

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        if problem := timezone_problem(v):
            raise ValueError(problem)
        return v


class FacilityUpdate(StrictInput):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    address: Address | None = None
    pos_code: PosCode | None = None


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

    @model_validator(mode="after")
    def _order(self):
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to must not be before effective_from")
        return self


class TimeOff(StrictInput):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None

    @model_validator(mode="after")
    def _order(self):
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


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
