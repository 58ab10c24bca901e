"""Encounters and their charge lines.

The schema checks shapes (types, counts, ranges); the code sets, the fee schedule and the
references are checked by the service, which reports every problem of a request in one 422.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from ops_api.schemas.common import Money, PositiveMoney, ReadModel, StrictInput

Code = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=10)]
MAX_LINE_CHARGE = Decimal("9999999.99")  # keeps any claim total (≤ 50 lines) inside Numeric(12,2)


class EncounterLineIn(StrictInput):
    procedure_code: Code = Field(description="CPT (5 digits, or 4 digits + F/T) or HCPCS Level II (letter + 4 digits)")
    modifiers: list[Code] = Field(default_factory=list, max_length=4, description="0-4 two-character modifiers")
    units: int = Field(default=1, ge=1, le=999)
    charge_amount: PositiveMoney | None = Field(
        default=None, le=MAX_LINE_CHARGE,
        description="The line total; default: the fee in force on the date of service × units")
    diagnosis_pointers: list[int] = Field(min_length=1, max_length=4,
                                          description="1-based positions in diagnosis_codes, most important first")


class EncounterCreate(StrictInput):
    appointment_id: uuid.UUID | None = None
    patient_id: uuid.UUID
    provider_id: uuid.UUID
    facility_id: uuid.UUID
    date_of_service: date = Field(description="The facility's local date; not in the future")
    diagnosis_codes: list[Code] = Field(min_length=1, max_length=12,
                                        description="Billable ICD-10-CM codes, with or without the dot")
    lines: list[EncounterLineIn] = Field(min_length=1, max_length=50)


class EncounterLinePublic(ReadModel):
    id: uuid.UUID
    line_number: int
    procedure_code: str
    modifiers: list[str]
    units: int
    charge_amount: Money
    diagnosis_pointers: list[int]


class EncounterPublic(ReadModel):
    id: uuid.UUID
    appointment_id: uuid.UUID | None
    patient_id: uuid.UUID
    provider_id: uuid.UUID
    facility_id: uuid.UUID
    date_of_service: date
    diagnosis_codes: list[str]
    lines: list[EncounterLinePublic]
    total_charge: Money
    created_at: datetime
