"""Payments (the one ledger of money received), adjustments and the patient balance."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

from ops_api.schemas.common import Money, PositiveMoney, ReadModel, StrictInput
from pms.enums import AdjustmentKind, AdjustmentStatus, PaymentMethod, PaymentSource


def text(max_length: int, min_length: int = 0):
    """Free text, stripped (NUL characters are refused for every request by ops_api/middleware.py)."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)]


class PaymentCreate(StrictInput):
    patient_id: uuid.UUID
    claim_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = Field(default=None, description="Insurance payments: default the claim's payer")
    source: PaymentSource
    method: PaymentMethod
    amount: PositiveMoney
    received_at: AwareDatetime | None = Field(default=None, description="Default: now; not in the future")
    reference: text(100) | None = None


class PaymentPublic(ReadModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    facility_id: uuid.UUID
    claim_id: uuid.UUID | None
    payer_id: uuid.UUID | None
    remittance_id: uuid.UUID | None
    source: PaymentSource
    method: PaymentMethod
    amount: Money
    received_at: datetime
    reference: str | None
    created_at: datetime


class AdjustmentCreate(StrictInput):
    patient_id: uuid.UUID
    claim_id: uuid.UUID | None = None
    kind: AdjustmentKind
    amount: PositiveMoney
    reason: text(500, min_length=1)


class AdjustmentPublic(ReadModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    facility_id: uuid.UUID
    claim_id: uuid.UUID | None
    kind: AdjustmentKind
    amount: Money
    reason: str
    status: AdjustmentStatus
    requested_by: uuid.UUID
    approved_by: uuid.UUID | None = Field(description="The approving admin; null when within the approval limit "
                                                      "(no second person was needed) or still pending")
    decided_at: datetime | None
    posted_at: datetime | None
    created_at: datetime


class BalancePublic(ReadModel):
    """A patient's account, reconciling to the cent (see services/payments.py for the rules)."""

    patient_id: uuid.UUID
    charges: Money
    insurance_paid: Money
    patient_paid: Money
    contractual_adjustments: Money
    other_adjustments: Money = Field(description="Approved write-offs, discounts, fee waivers and credits minus "
                                                 "debits and refunds")
    adjustments_by_kind: dict[str, Money]
    balance_due: Money = Field(description="charges − insurance_paid − patient_paid − contractual_adjustments − "
                                           "other_adjustments = insurance_balance + patient_balance − credit_balance")
    insurance_balance: Money
    patient_balance: Money
    credit_balance: Money
    pending_adjustments: Money = Field(description="Awaiting approval; not in the balance yet")
