"""Domain vocabularies, defined once for the API, the simulator, the warehouse and tests."""

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    front_desk = "front_desk"
    biller = "biller"
    physician = "physician"
    executive = "executive"
    analyst = "analyst"


class PayerKind(StrEnum):
    commercial = "commercial"
    medicare = "medicare"
    medicaid = "medicaid"
    self_pay = "self_pay"
    workers_comp = "workers_comp"
    other = "other"


class Sex(StrEnum):
    female = "F"
    male = "M"
    unknown = "U"
    other = "X"


class ContactMethod(StrEnum):
    sms = "sms"
    email = "email"
    phone = "phone"
    letter = "letter"


class CoverageRank(StrEnum):
    primary = "primary"
    secondary = "secondary"
    tertiary = "tertiary"


class AppointmentStatus(StrEnum):
    scheduled = "scheduled"
    confirmed = "confirmed"
    checked_in = "checked_in"
    completed = "completed"
    cancelled = "cancelled"
    no_show = "no_show"


class ClaimStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    accepted = "accepted"
    rejected = "rejected"
    paid = "paid"
    partially_paid = "partially_paid"
    denied = "denied"
    appealed = "appealed"
    closed = "closed"
    void = "void"


class CarcGroup(StrEnum):
    """X12 835 claim adjustment group codes."""

    CO = "CO"  # contractual obligation
    PR = "PR"  # patient responsibility
    OA = "OA"  # other adjustment
    PI = "PI"  # payer initiated
    CR = "CR"  # correction and reversal


class PaymentSource(StrEnum):
    patient = "patient"
    insurance = "insurance"


class PaymentMethod(StrEnum):
    cash = "cash"
    card = "card"
    check = "check"
    eft = "eft"
    ach = "ach"


class AdjustmentKind(StrEnum):
    refund = "refund"
    credit = "credit"
    debit = "debit"
    write_off = "write_off"
    discount = "discount"
    fee_waiver = "fee_waiver"


class AdjustmentStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class OutboxOp(StrEnum):
    upsert = "upsert"
    delete = "delete"
