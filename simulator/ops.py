"""The domain operations the simulator decides, in the order and at the instant they happen.

Each op is one staff action or one external answer (clearinghouse, payer), i.e. one service call
(one API request). Outcomes are pre-decided, so a writer only executes: the service writer calls
ops_api.services under frozen_at(op.at); the bulk writer derives the rows those calls write.

Entities are referred to by `Ref` handles: the writer that creates an entity stores its id on the
handle, and later ops read it. Ids are not decided here because they are assigned at flush by the
seeded id source (see ids.py), exactly as the service layer assigns them.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal


@dataclass(slots=True, eq=False)
class Ref:
    id: uuid.UUID | None = None


@dataclass(slots=True)
class Op:
    at: datetime


# -- set-up (admin) ----------------------------------------------------------------------------------

@dataclass(slots=True)
class CreateFacility(Op):
    ref: Ref
    name: str
    timezone: str
    address: dict
    pos_code: str = "11"


@dataclass(slots=True)
class CreatePayer(Op):
    ref: Ref
    name: str
    edi_payer_id: str
    kind: str


@dataclass(slots=True)
class SetFee(Op):
    procedure_code: str
    description: str
    charge_amount: Decimal
    work_rvu: Decimal
    effective_from: date


@dataclass(slots=True)
class CreateProvider(Op):
    ref: Ref
    npi: str
    first_name: str
    last_name: str
    specialty: str
    facilities: list[Ref]


@dataclass(slots=True)
class CreateUser(Op):
    """Staff accounts the simulation acts as; not replicated, written directly (see writers)."""

    ref: Ref
    username: str
    role: str
    facilities: list[Ref]
    provider: Ref | None = None


@dataclass(slots=True)
class SetSchedule(Op):
    provider: Ref
    templates: list[tuple[int, time, time, Ref, date]]  # weekday, start, end, facility, effective_from
    time_off: list[tuple[datetime, datetime, str]]


# -- front desk --------------------------------------------------------------------------------------

@dataclass(slots=True)
class RegisterPatient(Op):
    actor: Ref
    ref: Ref
    facility: Ref
    first_name: str
    last_name: str
    date_of_birth: date
    sex: str
    phone: str | None
    email: str | None
    address: dict
    preferred_contact: str


@dataclass(slots=True)
class AddCoverage(Op):
    actor: Ref
    ref: Ref
    patient: Ref
    payer: Ref
    member_id: str
    group_number: str | None
    effective_from: date


@dataclass(slots=True)
class Book(Op):
    actor: Ref
    ref: Ref
    patient: Ref
    provider: Ref
    facility: Ref
    starts_at: datetime
    ends_at: datetime
    appointment_type: str
    reason: str | None
    rescheduled_from: Ref | None = None


@dataclass(slots=True)
class SendReminder(Op):
    actor: Ref
    appointment: Ref


@dataclass(slots=True)
class MoveAppointment(Op):
    actor: Ref
    appointment: Ref
    status: str


# -- clinical and billing ----------------------------------------------------------------------------

@dataclass(slots=True)
class RecordEncounter(Op):
    actor: Ref
    ref: Ref
    appointment: Ref
    patient: Ref
    provider: Ref
    facility: Ref
    date_of_service: date
    diagnosis_codes: list[str]
    lines: list[tuple[str, int, tuple[str, ...], tuple[int, ...]]]  # code, units, modifiers, pointers


@dataclass(slots=True)
class CreateClaim(Op):
    actor: Ref
    ref: Ref
    encounter: Ref
    coverage: Ref


@dataclass(slots=True)
class SubmitClaim(Op):
    actor: Ref
    claim: Ref


@dataclass(slots=True)
class MoveClaim(Op):
    """Clearinghouse answers (accepted/rejected) and staff moves (draft after correction, appealed, closed)."""

    actor: Ref
    claim: Ref
    status: str
    note: str | None = None


@dataclass(slots=True)
class PostRemittance(Op):
    actor: Ref
    claim: Ref
    paid_amount: Decimal
    allowed_amount: Decimal
    adjustments: list[tuple[str, str, Decimal]]  # group, CARC reason, amount
    remark_codes: list[str]
    payment_reference: str | None
    denial: tuple[str, str, list[str]] | None = None  # group, reason, remarks


@dataclass(slots=True)
class PatientPayment(Op):
    actor: Ref
    patient: Ref
    claim: Ref | None
    amount: Decimal
    method: str
    reference: str | None


@dataclass(slots=True)
class RequestAdjustment(Op):
    actor: Ref
    ref: Ref
    patient: Ref
    claim: Ref | None
    kind: str
    amount: Decimal
    reason: str


@dataclass(slots=True)
class DecideAdjustment(Op):
    actor: Ref
    adjustment: Ref
    approve: bool
