"""Claims, their status moves and the payer's remittance (835) answers."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

from ops_api.schemas.common import Money, NonNegativeMoney, PositiveMoney, ReadModel, StrictInput
from ops_api.schemas.payments import PaymentPublic, text
from pms.enums import CarcGroup, ClaimStatus

Code = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=10)]


class ClaimCreate(StrictInput):
    encounter_id: uuid.UUID
    coverage_id: uuid.UUID | None = Field(
        default=None, description="Default: the patient's primary coverage effective on the date of service")


class ClaimUpdate(StrictInput):
    """Corrections to a draft claim (for example after a rejection for eligibility)."""

    coverage_id: uuid.UUID


class ClaimStatusIn(StrictInput):
    status: ClaimStatus = Field(description="submitted goes through /submit; paid, partially_paid and denied "
                                            "through /remittance")
    note: text(500, min_length=1) | None = None


class AdjustmentIn(StrictInput):
    group_code: CarcGroup
    reason_code: Code = Field(description="CARC, for example 45 or B7")
    amount: PositiveMoney


class DenialIn(StrictInput):
    group_code: CarcGroup
    reason_code: Code
    remark_codes: list[Code] = Field(default_factory=list, max_length=20)


class RemittanceIn(StrictInput):
    """One payer answer for the whole claim; it must balance: charge = paid + Σ adjustments."""

    paid_amount: NonNegativeMoney
    allowed_amount: NonNegativeMoney | None = Field(default=None, description="If given, must equal paid + PR")
    adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=99)
    remark_codes: list[Code] = Field(default_factory=list, max_length=20, description="RARC, for example N130")
    received_at: AwareDatetime | None = Field(default=None, description="Default: now")
    payment_reference: text(50) | None = None
    denial: DenialIn | None = None


class ClaimLinePublic(ReadModel):
    id: uuid.UUID
    line_number: int
    encounter_line_id: uuid.UUID
    procedure_code: str
    modifiers: list[str]
    units: int
    charge_amount: Money


class Denial(ReadModel):
    group_code: str
    reason_code: str
    remark_codes: list[str]


class ClaimPublic(ReadModel):
    id: uuid.UUID
    encounter_id: uuid.UUID
    patient_id: uuid.UUID
    provider_id: uuid.UUID
    facility_id: uuid.UUID
    coverage_id: uuid.UUID | None
    payer_id: uuid.UUID | None
    status: ClaimStatus
    total_charge: Money
    submitted_at: datetime | None
    adjudicated_at: datetime | None
    paid_amount: Money
    allowed_amount: Money | None
    patient_responsibility: Money
    denial: Denial | None
    status_changed_at: datetime | None
    created_at: datetime


class RemittanceAdjustmentPublic(ReadModel):
    group_code: CarcGroup
    reason_code: str
    amount: Money


class RemittancePublic(ReadModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    payer_id: uuid.UUID | None
    received_at: datetime
    claim_status: ClaimStatus
    paid_amount: Money
    allowed_amount: Money
    patient_responsibility: Money
    adjustments: list[RemittanceAdjustmentPublic]
    remark_codes: list[str]
    payment_reference: str | None
    denial_group_code: str | None
    denial_reason_code: str | None


class StatusEventPublic(ReadModel):
    from_status: ClaimStatus | None
    to_status: ClaimStatus
    occurred_at: datetime
    user_id: uuid.UUID | None
    note: str | None


class ClaimDetail(ClaimPublic):
    lines: list[ClaimLinePublic]
    remittances: list[RemittancePublic]
    status_history: list[StatusEventPublic]


class RemittanceResult(ReadModel):
    remittance: RemittancePublic
    claim: ClaimPublic
    payment: PaymentPublic | None = Field(description="The insurance payment posted, when anything was paid")
