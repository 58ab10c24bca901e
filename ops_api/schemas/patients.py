"""Patients and coverages."""

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import EmailStr, StringConstraints, field_validator, model_validator

from ops_api.clock import utcnow
from ops_api.schemas.common import Address, Name, ReadModel, StrictInput
from pms.enums import ContactMethod, CoverageRank, Sex

Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()\-.]{7,20}$")]
MemberId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                            pattern=r"^[A-Za-z0-9\-]+$")]


def _past_date(v: date) -> date:
    if v > utcnow().date():
        raise ValueError("date of birth cannot be in the future")
    if v.year < 1900:
        raise ValueError("date of birth before 1900")
    return v


class PatientCreate(StrictInput):
    first_name: Name
    last_name: Name
    date_of_birth: date
    sex: Sex
    phone: Phone | None = None
    email: EmailStr | None = None
    address: Address | None = None
    preferred_contact: ContactMethod = ContactMethod.sms
    facility_id: uuid.UUID

    _dob = field_validator("date_of_birth")(_past_date)


class PatientUpdate(StrictInput):
    first_name: Name | None = None
    last_name: Name | None = None
    date_of_birth: date | None = None
    sex: Sex | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    address: Address | None = None
    preferred_contact: ContactMethod | None = None

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, v):
        return None if v is None else _past_date(v)


class PatientPublic(ReadModel):
    id: uuid.UUID
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date
    sex: Sex
    phone: str | None
    email: str | None
    address: dict | None
    preferred_contact: ContactMethod
    facility_id: uuid.UUID
    created_at: datetime


class CoverageCreate(StrictInput):
    payer_id: uuid.UUID
    member_id: MemberId
    group_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    rank: CoverageRank = CoverageRank.primary
    effective_from: date
    effective_to: date | None = None

    @model_validator(mode="after")
    def _order(self):
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to must not be before effective_from")
        return self


class CoverageUpdate(StrictInput):
    member_id: MemberId | None = None
    group_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    rank: CoverageRank | None = None
    effective_to: date | None = None


class CoveragePublic(ReadModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    payer_id: uuid.UUID
    member_id: str
    group_number: str | None
    rank: CoverageRank
    effective_from: date
    effective_to: date | None
